import AgentCore

/// The invariants observer: who owns each live lease in etcd and which hosts' agents took
/// which subnet, kept incrementally from etcd's events and the agents' acquisitions (10,000
/// hosts: lookups, not scans). It reports what breaks; the world decides what to do about it.
struct SimLeaseLedger {
    private var leaseOwners: [SubnetKey: IPv4Address] = [:]
    /// Live lease subnets (with how many keys name each) and prefix lengths in use: overlap
    /// checks by lookup instead of a scan over every lease.
    private var liveSubnets: [IPv4Network: Int] = [:]
    private var livePrefixLengths: [Int: Int] = [:]
    /// Which hosts' agents took which subnet (checked against the agents when read).
    private var heldSubnets: [IPv4Network: [Int]] = [:]
    private var heldPrefixLengths: Set<Int> = []

    /// After every change to etcd: no two live leases overlap, and a live lease never changes
    /// hands without being deleted or expiring first (an agent overwrote another's lease).
    /// Returns the broken invariants.
    mutating func check(_ batches: [LeaseEventBatch]) -> [String] {
        var broken: [String] = []
        for batch in batches {
            for event in batch.events {
                switch event {
                case let .put(record):
                    let owner = record.attributes.publicIP
                    if let before = leaseOwners[record.key] {
                        if before != owner { broken.append("the live lease \(record.key.subnets) of \(before) was overwritten by \(owner)") }
                        leaseOwners[record.key] = owner
                    } else {
                        // Distinct keys overlap only when their lengths differ (a config change).
                        if let subnet = record.key.ipv4, overlapsLiveLease(subnet) { broken.append("live leases overlap: \(subnet) and another") }
                        setLiveOwner(record.key, owner)
                    }
                case let .delete(key):
                    setLiveOwner(key, nil)
                case let .malformed(problem):
                    // A good lease overwritten with a bad value has no owner any more.
                    if let subnet = problem.subnet { setLiveOwner(subnet, nil) }
                }
            }
        }
        return broken
    }

    private mutating func setLiveOwner(_ key: SubnetKey, _ owner: IPv4Address?) {
        let had = leaseOwners[key] != nil
        leaseOwners[key] = owner
        // The overlap index is of IPv4 subnets (the simulator runs IPv4 and dual-stack networks).
        guard had != (owner != nil), let subnet = key.ipv4 else { return }
        let delta = owner != nil ? 1 : -1
        liveSubnets[subnet, default: 0] += delta
        if liveSubnets[subnet] == 0 { liveSubnets[subnet] = nil }
        livePrefixLengths[subnet.prefixLength, default: 0] += delta
        if livePrefixLengths[subnet.prefixLength] == 0 { livePrefixLengths[subnet.prefixLength] = nil }
    }

    /// Whether a live lease's subnet overlaps `subnet`: a lookup per prefix length in use
    /// (one, unless the config changed), a scan only for longer prefixes inside it.
    private func overlapsLiveLease(_ subnet: IPv4Network) -> Bool {
        for length in livePrefixLengths.keys {
            if length <= subnet.prefixLength {
                if liveSubnets[IPv4Network(address: subnet.address, prefixLength: length)] != nil { return true }
            } else if liveSubnets.keys.contains(where: { subnet.contains($0) }) {
                return true
            }
        }
        return false
    }

    /// `host` took `mine`: the other hosts whose running agents believe they hold an
    /// overlapping subnet (allowed only for as long as it takes them to learn they lost it).
    mutating func acquired(_ mine: IPv4Network, by host: SimHost, among hosts: [SimHost]) -> [SimHost] {
        heldSubnets[mine, default: []].append(host.index)
        heldPrefixLengths.insert(mine.prefixLength)
        // Other hosts that took the same subnet (by lookup), or any overlapping one (by scan,
        // only once subnets of several lengths were handed out).
        let indices = heldPrefixLengths.count == 1 ? Set(heldSubnets[mine] ?? []).sorted() : Array(hosts.indices.map { $0 + 1 })
        heldSubnets[mine] = indices.filter { hosts[$0 - 1].agent?.held?.key.ipv4 == mine }
        return indices.map { hosts[$0 - 1] }.filter { other in
            guard other !== host, let theirs = other.agent?.held?.key.ipv4 else { return false }
            return theirs.overlaps(mine) && other.agent?.exitReason == nil
        }
    }
}
