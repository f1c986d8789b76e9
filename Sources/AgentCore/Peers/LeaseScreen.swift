/// Which leases an agent believes. Anyone with write access to the prefix can create keys, so
/// a key is used only if the network plan could have handed it out: exactly `SubnetLen` long
/// and inside the network (and its IPv6 half, when the network has IPv6, likewise). Anything
/// else would hijack or block: a `-25` or `-32` inside a peer's subnet wins by longest
/// prefix, a `10.1.0.0-16` overlaps every free subnet (`0.0.0.0-0` alone is no key at all). Such keys are reported
/// as `MalformedLease`s without a subnet, so they neither route nor occupy.
///
/// A key needs a subnet in a family the network has; a half in a family it lacks is not
/// looked at and never routed (an IPv4-only peer in a dual-stack network keeps its IPv4
/// routes; a dual-stack key in an IPv6-only network is used for its IPv6 half).
///
/// Usable subnets of one family never partly overlap (one length, on its boundary, parsed
/// strictly), but two dual-stack keys can share one half (`10.1.5.0-24&…:5::-64` and
/// `10.1.5.0-24&…:7::-64`): the older key keeps it (`LeaseMachine.sharedSubnet`).
public struct LeaseScreen: Equatable, Sendable {
    public var ipv4: SubnetPlan<IPv4Address>?
    public var ipv6: SubnetPlan<IPv6Address>?
    public var layout: EtcdKeyLayout

    public init(ipv4: SubnetPlan<IPv4Address>?, ipv6: SubnetPlan<IPv6Address>? = nil, layout: EtcdKeyLayout) {
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.layout = layout
    }

    /// Why `key` is not used, or nil when it is.
    public func problem(_ key: SubnetKey) -> MalformedLease? {
        let ipv4Half = ipv4.flatMap { plan in key.ipv4.map { (plan, $0) } }
        let ipv6Half = ipv6.flatMap { plan in key.ipv6.map { (plan, $0) } }
        if let reason = ipv4Half.flatMap({ Self.problem($1, $0) }) ?? ipv6Half.flatMap({ Self.problem($1, $0) }) {
            return MalformedLease(key: layout.leaseKey(key), reason: reason.text, kind: reason.kind)
        }
        if ipv4Half == nil && ipv6Half == nil {
            let family = ipv4 == nil ? "IPv6 subnet; the network is IPv6-only" : "IPv4 subnet; the network has no IPv6"
            return MalformedLease(key: layout.leaseKey(key), reason: "it has no \(family); ignored", kind: .outsideNetwork)
        }
        return nil
    }

    private static func problem<Address: IPAddress>(_ subnet: IPNetwork<Address>, _ plan: SubnetPlan<Address>)
        -> (kind: MalformedLease.Kind, text: String)? {
        guard subnet.prefixLength == plan.subnetLength else {
            return (.wrongLength, "its prefix /\(subnet.prefixLength) is not the network's SubnetLen /\(plan.subnetLength); ignored")
        }
        guard plan.network.contains(subnet) else {
            return (.outsideNetwork, "it lies outside the network \(plan.network); ignored")
        }
        return nil
    }

    /// The listing with unusable records moved to `malformed`. The same listing (no copy)
    /// when every record is usable, as it is unless someone wrote such a key.
    public func screen(_ listing: LeaseListing) -> LeaseListing {
        guard listing.records.contains(where: { problem($0.key) != nil }) || listing.malformed.contains(where: occupiesWrongly) else {
            return listing
        }
        var screened = listing
        screened.records = []
        screened.malformed = listing.malformed.map(screen)
        for record in listing.records {
            if let problem = problem(record.key) { screened.malformed.append(problem) } else { screened.records.append(record) }
        }
        return screened
    }

    /// The batch with puts of unusable keys turned into `malformed` and their deletes dropped
    /// (nothing was ever made for them).
    public func screen(_ batch: LeaseEventBatch) -> LeaseEventBatch {
        let usable = batch.events.allSatisfy { event in
            switch event {
            case let .put(record): problem(record.key) == nil
            case let .delete(key): problem(key) == nil
            case let .malformed(entry): !occupiesWrongly(entry)
            }
        }
        guard !usable else { return batch }
        var screened = batch
        screened.events = batch.events.compactMap { event in
            switch event {
            case let .put(record): problem(record.key).map { .malformed($0) } ?? event
            case let .delete(key): problem(key) == nil ? event : nil
            case let .malformed(entry): .malformed(screen(entry))
            }
        }
        return screened
    }

    /// A key with a bad value still occupies its subnet, but only a subnet the plan could
    /// have handed out.
    private func occupiesWrongly(_ entry: MalformedLease) -> Bool {
        entry.subnet.map { problem($0) != nil } ?? false
    }

    private func screen(_ entry: MalformedLease) -> MalformedLease {
        guard occupiesWrongly(entry) else { return entry }
        var screened = entry
        screened.subnet = nil
        return screened
    }
}
