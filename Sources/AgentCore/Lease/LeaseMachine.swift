/// The lease logic as a state machine: events in, actions out, no I/O.
///
/// The driver (daemon or simulator) calls one `mutating` function per event and carries out
/// the returned actions in order: registry calls (whose results come back as events),
/// timers, notifications. Time and randomness are handed in with the events that need them.
///
/// Life of a lease:
/// ```
///  idle ──start──▶ acquiring ──created/reused──▶ holding ◀──renewed── renewing
///                    ▲   │                        │  ▲ │ renewalDue ──▶ │
///                    │   └──full/conflicts──▶ failed  │ └─ own key gone ─▶ reclaiming
///                    └──── taken by another host ─────┴─────────────────────┘
/// ```
public struct LeaseMachine: Sendable {
    public struct Configuration: Equatable, Sendable {
        /// The IPv4 plan; nil in an IPv6-only network (`EnableIPv4: false`).
        public var plan: SubnetPlan<IPv4Address>?
        /// The IPv6 half of a dual-stack network (`EnableIPv6`): each lease then carries one
        /// subnet of each family under one key. At least one of the two plans is there.
        public var ipv6Plan: SubnetPlan<IPv6Address>?
        /// The value we write: our public IP and backend data.
        public var attributes: LeaseAttributes
        public var ttl: Duration
        /// Renew when less than this is left (upstream `--subnet-lease-renew-margin`), capped
        /// at half the TTL so that short TTLs still renew in time.
        public var renewMargin: Duration
        /// The subnet from the subnet file of a previous run, asked for first.
        public var previousSubnet: IPv4Network?
        /// The IPv6 subnet the subnet file of a previous run names, asked for first.
        public var previousIPv6Subnet: IPv6Network?
        /// Lost create races tolerated in a row before giving up.
        public var maximumConflicts: Int
        /// The random pick is among this many free subnets from SubnetMin upwards.
        public var candidateLimit: Int
        /// Spreads renewals (up to a fifth of the margin earlier) and retries (75–100 % of the
        /// backoff's wait); nil: exact timers.
        public var jitter: Jitter?

        public init(plan: SubnetPlan<IPv4Address>?, ipv6Plan: SubnetPlan<IPv6Address>? = nil, attributes: LeaseAttributes,
                    ttl: Duration = .seconds(24 * 3600), renewMargin: Duration = .seconds(3600),
                    previousSubnet: IPv4Network? = nil, previousIPv6Subnet: IPv6Network? = nil,
                    maximumConflicts: Int = 10, candidateLimit: Int = 100) {
            self.plan = plan
            self.ipv6Plan = ipv6Plan
            self.previousIPv6Subnet = previousIPv6Subnet
            self.attributes = attributes
            self.ttl = ttl
            self.renewMargin = renewMargin
            self.previousSubnet = previousSubnet
            self.maximumConflicts = maximumConflicts
            self.candidateLimit = candidateLimit
        }

        public var effectiveRenewMargin: Duration { min(renewMargin, ttl / 2) }

        /// Whether a lease under `key` may be held with this config: it has a subnet of each
        /// family the network has, fitting its plan, and none of a family it lacks.
        public func fits(_ key: SubnetKey) -> Bool {
            Self.fits(key.ipv4, plan) && Self.fits(key.ipv6, ipv6Plan)
        }

        private static func fits<Address>(_ subnet: IPNetwork<Address>?, _ plan: SubnetPlan<Address>?) -> Bool {
            switch (plan, subnet) {
            case (nil, nil): true
            case let (plan?, subnet?): plan.fits(subnet)
            default: false
            }
        }

        /// The config a lease must fit, for messages.
        var planDescription: String {
            var parts: [String] = []
            if let plan { parts.append("\(plan.network), /\(plan.subnetLength), \(plan.subnetMin)–\(plan.subnetMax)") }
            if let ipv6Plan {
                parts.append("IPv6 \(ipv6Plan.network), /\(ipv6Plan.subnetLength), \(ipv6Plan.subnetMin)–\(ipv6Plan.subnetMax)")
            }
            return parts.joined(separator: "; ")
        }

        /// Whether `attributes` were written by this host.
        func isOurs(_ attributes: LeaseAttributes) -> Bool {
            attributes.isHeld(byPublicIP: self.attributes.publicIP, publicIPv6: self.attributes.publicIPv6)
        }
    }

    public enum Action: Equatable, Sendable {
        // Registry calls; each answers with an event.
        case listLeases
        case createLease(SubnetKey, LeaseAttributes, ttl: Duration)
        case updateLease(SubnetKey, LeaseAttributes, ttl: Duration?, expectedModRevision: Int64)
        case deleteLease(SubnetKey, expectedModRevision: Int64, reason: String)
        // Timers.
        case scheduleRenewal(at: Timestamp)
        case scheduleRetry(after: Duration)
        // Notifications.
        case leaseAcquired(HeldLease)
        case leaseRenewed(HeldLease)
        /// `heldBy`: the new holder for people (`LeaseAttributes.holder`).
        case leaseLost(SubnetKey, heldBy: String?)
        /// Our subnet is not the one we had (or the subnet file named): loud, with both.
        case subnetDrifted(from: IPv4Network, to: IPv4Network)
        /// The same for the IPv6 half of a dual-stack lease.
        case ipv6SubnetDrifted(from: IPv6Network, to: IPv6Network)
        case failed(LeaseError)
    }

    /// What the acquisition is waiting for.
    enum Pending: Equatable, Sendable {
        case list
        case delete(SubnetKey)
        case create(SubnetKey)
        case reuse(LeaseRecord)
    }

    enum State: Equatable, Sendable {
        case idle
        /// `expected`: the subnets we had or that the subnet file names, asked for first and
        /// compared with what we get (drift reports).
        case acquiring(pending: Pending, conflicts: Int, expected: ExpectedSubnets, waitingRetry: Bool)
        case holding(HeldLease, renewAt: Timestamp?)
        case renewing(HeldLease)
        /// Our key vanished while we held it: taking the same subnet back.
        case reclaiming(HeldLease, waitingRetry: Bool)
        case failed(LeaseError)
    }

    /// The subnets of each family asked for first.
    struct ExpectedSubnets: Equatable, Sendable {
        var ipv4: IPv4Network?
        var ipv6: IPv6Network?

        init(ipv4: IPv4Network?, ipv6: IPv6Network?) {
            self.ipv4 = ipv4
            self.ipv6 = ipv6
        }

        init(_ lease: HeldLease) {
            self.init(ipv4: lease.subnet, ipv6: lease.key.ipv6)
        }
    }

    public let configuration: Configuration
    private(set) var state: State = .idle
    private var retryDelay = Backoff.leaseCall
    private var renewalJitter: Jitter?
    /// The revision that created the key we hold (a dual-stack subnet shared with an older key is given up).
    private var heldCreateRevision: Int64 = 0
    /// Renewals come up to this share of the margin early, each drawn anew.
    static let renewalSpread = 0.2

    public init(configuration: Configuration) {
        self.configuration = configuration
        retryDelay.jitter = configuration.jitter?.derived(1)
        renewalJitter = configuration.jitter?.derived(2)
    }

    /// The lease we hold, if any (also while renewing).
    public var lease: HeldLease? {
        switch state {
        case let .holding(lease, _), let .renewing(lease): lease
        default: nil
        }
    }

    public var isFailed: Bool {
        if case .failed = state { return true }
        return false
    }

    // MARK: Events

    public mutating func start() -> [Action] {
        guard case .idle = state else { return [] }
        let expected = ExpectedSubnets(ipv4: configuration.previousSubnet, ipv6: configuration.previousIPv6Subnet)
        state = .acquiring(pending: .list, conflicts: 0, expected: expected, waitingRetry: false)
        return [.listLeases]
    }

    public mutating func leasesListed(_ listing: LeaseListing, now: Timestamp,
                                      using generator: inout some RandomNumberGenerator) -> [Action] {
        guard case let .acquiring(.list, conflicts, expected, false) = state else { return [] }
        retryDelay.succeeded()
        let ours = configuration.attributes
        let mine = listing.records.filter { configuration.isOurs($0.attributes) }

        // 1. Our own lease from before: reuse it if it fits the config, else delete it. Its
        // subnets are then asked for first, so that turning IPv6 on (or off) keeps the host's
        // other subnet; the subnet file's, which containers use, stay first where it names one.
        if let unfit = mine.first(where: { !configuration.fits($0.key) }) {
            var keep = expected
            if keep.ipv4 == nil, let subnet = unfit.key.ipv4, configuration.plan?.fits(subnet) == true { keep.ipv4 = subnet }
            if keep.ipv6 == nil, let subnet = unfit.key.ipv6, configuration.ipv6Plan?.fits(subnet) == true { keep.ipv6 = subnet }
            state = .acquiring(pending: .delete(unfit.key), conflicts: conflicts, expected: keep, waitingRetry: false)
            return [.deleteLease(unfit.key, expectedModRevision: unfit.modRevision, reason: "it does not fit the network config (\(configuration.planDescription))")]
        }
        if let existing = mine.first {
            if existing.isReservation && existing.attributes == ours {
                let held = HeldLease(key: existing.key, attributes: ours, expiry: .reservation, modRevision: existing.modRevision)
                heldCreateRevision = existing.createRevision
                return acquired(held, expected: expected, now: now)
            }
            state = .acquiring(pending: .reuse(existing), conflicts: conflicts, expected: expected, waitingRetry: false)
            return [.updateLease(existing.key, ours, ttl: existing.isReservation ? nil : configuration.ttl,
                                 expectedModRevision: existing.modRevision)]
        }

        // 2. The subnet we had (subnet file, or the lease we just lost), if it is still free.
        // Keys whose value does not parse still occupy their subnet; keys the plan could not
        // have handed out (a /16, a /25) occupy nothing, or one such key would block every host.
        let keys = listing.records.map(\.key) + listing.malformed.compactMap(\.subnet)
        let takenIPv6 = configuration.ipv6Plan.map { ipv6Plan in keys.compactMap(\.ipv6).filter(ipv6Plan.isLeaseSized) } ?? []
        guard let plan = configuration.plan else {
            return createIPv6Only(taken: takenIPv6, conflicts: conflicts, expected: expected, using: &generator)
        }
        let taken = keys.compactMap(\.ipv4).filter(plan.isLeaseSized)
        var ipv4: IPv4Network?
        if let wanted = expected.ipv4, plan.fits(wanted), !taken.contains(where: { $0.overlaps(wanted) }) {
            ipv4 = wanted
        } else {
            // 3. A random free subnet among the first candidates; dual-stack, one whose IPv6
            // subnet at the same position is free too when there is one (see `ipv6Subnet`).
            let free = plan.freeSubnets(excluding: taken, limit: configuration.candidateLimit)
            guard !free.isEmpty else {
                return fail(.networkFull(plan: plan, leaseCount: taken.count))
            }
            if let ipv6Plan = configuration.ipv6Plan {
                let paired = free.filter { Self.ipv6Subnet(at: $0, plan: plan, ipv6Plan: ipv6Plan, taken: takenIPv6) != nil }
                if !paired.isEmpty { ipv4 = paired[Int.random(in: 0..<paired.count, using: &generator)] }
            }
            ipv4 = ipv4 ?? free[Int.random(in: 0..<free.count, using: &generator)]
        }
        guard let ipv4 else { return [] }
        guard let ipv6Plan = configuration.ipv6Plan else {
            return create(SubnetKey(ipv4), conflicts: conflicts, expected: expected)
        }
        // The subnet file's IPv6 subnet goes only with its IPv4 one: beside another IPv4
        // subnet it would make a second key for that subnet, which "create if absent" cannot stop.
        let wanted = ipv4 == expected.ipv4 ? expected.ipv6 : nil
        guard let ipv6 = Self.ipv6Subnet(for: ipv4, plan: plan, ipv6Plan: ipv6Plan, wanted: wanted, taken: takenIPv6,
                                         limit: configuration.candidateLimit, using: &generator) else {
            return fail(.ipv6NetworkFull(plan: ipv6Plan, leaseCount: takenIPv6.count))
        }
        return create(SubnetKey(ipv4, ipv6: ipv6), conflicts: conflicts, expected: expected)
    }

    /// The answer to `.createLease`: the new key's mod revision, or nil when the subnet was
    /// taken in the meantime (a lost race).
    public mutating func createCompleted(modRevision: Int64?, now: Timestamp) -> [Action] {
        switch state {
        case let .acquiring(.create(key), conflicts, expected, false):
            retryDelay.succeeded()
            guard let modRevision else {
                guard conflicts + 1 < configuration.maximumConflicts else {
                    return fail(.tooManyConflicts(attempts: conflicts + 1))
                }
                state = .acquiring(pending: .list, conflicts: conflicts + 1, expected: expected, waitingRetry: false)
                return [.listLeases]
            }
            return acquired(fresh(key, modRevision: modRevision, now: now), expected: expected, now: now)
        case let .reclaiming(lost, false):
            retryDelay.succeeded()
            guard let modRevision else {
                state = .acquiring(pending: .list, conflicts: 0, expected: ExpectedSubnets(lost), waitingRetry: false)
                return [.leaseLost(lost.key, heldBy: nil), .listLeases]
            }
            return acquired(fresh(lost.key, modRevision: modRevision, now: now), expected: ExpectedSubnets(lost), now: now)
        default:
            return []
        }
    }

    /// The answer to `.updateLease` (reuse at start-up, or renewal).
    public mutating func updateCompleted(_ outcome: LeaseUpdateOutcome, now: Timestamp) -> [Action] {
        switch state {
        case let .acquiring(.reuse(record), conflicts, expected, false):
            retryDelay.succeeded()
            switch outcome {
            case let .updated(modRevision):
                let expiry: HeldLease.Expiry = record.isReservation ? .reservation : .at(now + configuration.ttl)
                let held = HeldLease(key: record.key, attributes: configuration.attributes, expiry: expiry, modRevision: modRevision)
                heldCreateRevision = record.createRevision
                return acquired(held, expected: expected, now: now)
            case .missing:
                return create(record.key, conflicts: conflicts, expected: expected)
            case .heldByOther:
                state = .acquiring(pending: .list, conflicts: conflicts, expected: expected, waitingRetry: false)
                return [.listLeases]
            }
        case let .renewing(held):
            retryDelay.succeeded()
            switch outcome {
            case let .updated(modRevision):
                var renewed = held
                renewed.modRevision = modRevision
                if !held.isReservation { renewed.expiry = .at(now + configuration.ttl) }
                let renewAt = renewalTime(renewed)
                state = .holding(renewed, renewAt: renewAt)
                return [.leaseRenewed(renewed)] + (renewAt.map { [.scheduleRenewal(at: $0)] } ?? [])
            case .missing:
                state = .reclaiming(held, waitingRetry: false)
                return [.createLease(held.key, configuration.attributes, ttl: configuration.ttl)]
            case let .heldByOther(holder):
                state = .acquiring(pending: .list, conflicts: 0, expected: ExpectedSubnets(held), waitingRetry: false)
                return [.leaseLost(held.key, heldBy: holder.holder), .listLeases]
            }
        default:
            return []
        }
    }

    public mutating func deleteCompleted(now: Timestamp) -> [Action] {
        guard case let .acquiring(.delete, conflicts, expected, false) = state else { return [] }
        retryDelay.succeeded()
        state = .acquiring(pending: .list, conflicts: conflicts, expected: expected, waitingRetry: false)
        return [.listLeases]
    }

    /// A registry call failed (etcd unreachable, timeout, ...). The lease is kept as long as
    /// it is ours; the call is retried with `Backoff.leaseCall` (0.5 s doubling to 30 s), a
    /// renewal at the latest just before the lease would expire.
    public mutating func operationFailed(now: Timestamp) -> [Action] {
        let delay = retryDelay.failed()
        switch state {
        case let .acquiring(_, conflicts, expected, false):
            state = .acquiring(pending: .list, conflicts: conflicts, expected: expected, waitingRetry: true)
            return [.scheduleRetry(after: delay)]
        case let .renewing(held):
            var retryAt = now + delay
            if case let .at(expiry) = held.expiry, expiry - retryDelay.initial > now {
                retryAt = min(retryAt, expiry - retryDelay.initial)
            }
            state = .holding(held, renewAt: retryAt)
            return [.scheduleRenewal(at: retryAt)]
        case let .reclaiming(held, false):
            state = .reclaiming(held, waitingRetry: true)
            return [.scheduleRetry(after: delay)]
        default:
            return []
        }
    }

    public mutating func retryDue(now: Timestamp) -> [Action] {
        switch state {
        case let .acquiring(pending, conflicts, expected, true):
            state = .acquiring(pending: pending, conflicts: conflicts, expected: expected, waitingRetry: false)
            return [.listLeases]
        case let .reclaiming(held, true):
            state = .reclaiming(held, waitingRetry: false)
            return [.createLease(held.key, configuration.attributes, ttl: configuration.ttl)]
        default:
            return []
        }
    }

    /// The renewal timer fired. Early or stale timers are ignored.
    public mutating func renewalDue(now: Timestamp) -> [Action] {
        guard case let .holding(held, .some(renewAt)) = state, now >= renewAt else { return [] }
        state = .renewing(held)
        return [.updateLease(held.key, configuration.attributes, ttl: held.isReservation ? nil : configuration.ttl,
                             expectedModRevision: held.modRevision)]
    }

    /// The watch saw our key deleted (expired, or removed by hand): take the subnet back.
    public mutating func ownLeaseRemoved(now: Timestamp) -> [Action] {
        guard case let .holding(held, _) = state else { return [] }
        state = .reclaiming(held, waitingRetry: false)
        return [.createLease(held.key, configuration.attributes, ttl: configuration.ttl)]
    }

    /// Another key shares a subnet of ours (a dual-stack key with our IPv4 or our IPv6 subnet
    /// beside another of the other family: two creates that "create if absent" could not
    /// stop). The older key keeps the subnet: if the other was created first, ours is deleted
    /// and another lease taken (a drift, reported); if ours is older, the other host gives way.
    public mutating func sharedSubnet(with other: LeaseRecord, now: Timestamp) -> [Action] {
        let held: HeldLease
        switch state {
        case let .holding(lease, _), let .renewing(lease): held = lease
        default: return []
        }
        guard held.key.sharesSubnet(with: other.key),
              (other.createRevision, other.attributes.publicIP) < (heldCreateRevision, configuration.attributes.publicIP) else { return [] }
        let shared = other.key.ipv4 != nil && other.key.ipv4 == held.key.ipv4 ? held.key.ipv4.map { "\($0)" } ?? "" : held.key.ipv6.map { "\($0)" } ?? ""
        state = .acquiring(pending: .delete(held.key), conflicts: 0, expected: ExpectedSubnets(held), waitingRetry: false)
        return [.leaseLost(held.key, heldBy: other.attributes.holder),
                .deleteLease(held.key, expectedModRevision: held.modRevision,
                             reason: "\(shared) is also in lease \(other.key) of \(other.attributes.holder), created before ours; the older lease keeps it")]
    }

    /// The watch saw another host's value written under our key.
    public mutating func ownLeaseOverwritten(by holder: LeaseAttributes, now: Timestamp) -> [Action] {
        guard !configuration.isOurs(holder) else { return [] }
        switch state {
        case let .holding(held, _), let .renewing(held):
            state = .acquiring(pending: .list, conflicts: 0, expected: ExpectedSubnets(held), waitingRetry: false)
            return [.leaseLost(held.key, heldBy: holder.holder), .listLeases]
        default:
            return []
        }
    }

    // MARK: Helpers

    mutating func create(_ key: SubnetKey, conflicts: Int, expected: ExpectedSubnets) -> [Action] {
        state = .acquiring(pending: .create(key), conflicts: conflicts, expected: expected, waitingRetry: false)
        return [.createLease(key, configuration.attributes, ttl: configuration.ttl)]
    }

    /// A key we just created: its create revision is its mod revision.
    private mutating func fresh(_ key: SubnetKey, modRevision: Int64, now: Timestamp) -> HeldLease {
        heldCreateRevision = modRevision
        return HeldLease(key: key, attributes: configuration.attributes, expiry: .at(now + configuration.ttl), modRevision: modRevision)
    }

    private mutating func acquired(_ held: HeldLease, expected: ExpectedSubnets, now: Timestamp) -> [Action] {
        let renewAt = renewalTime(held)
        state = .holding(held, renewAt: renewAt)
        var actions: [Action] = [.leaseAcquired(held)]
        if let wanted = expected.ipv4, let subnet = held.subnet, wanted != subnet {
            actions.append(.subnetDrifted(from: wanted, to: subnet))
        }
        if let wanted = expected.ipv6, let subnet = held.key.ipv6, wanted != subnet {
            actions.append(.ipv6SubnetDrifted(from: wanted, to: subnet))
        }
        if let renewAt { actions.append(.scheduleRenewal(at: renewAt)) }
        return actions
    }

    private mutating func renewalTime(_ held: HeldLease) -> Timestamp? {
        guard case let .at(expiry) = held.expiry else { return nil }
        let margin = configuration.effectiveRenewMargin
        var early = Duration.zero
        if var jitter = renewalJitter {
            early = margin * (Self.renewalSpread * jitter.fraction())
            renewalJitter = jitter
        }
        return expiry - margin - early
    }

    mutating func fail(_ error: LeaseError) -> [Action] {
        state = .failed(error)
        return [.failed(error)]
    }
}
