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
        public var plan: SubnetPlan<IPv4Address>
        /// The value we write: our public IP and backend data.
        public var attributes: LeaseAttributes
        public var ttl: Duration
        /// Renew when less than this is left (upstream `--subnet-lease-renew-margin`), capped
        /// at half the TTL so that short TTLs still renew in time.
        public var renewMargin: Duration
        /// The subnet from the subnet file of a previous run, asked for first.
        public var previousSubnet: IPv4Network?
        /// Lost create races tolerated in a row before giving up.
        public var maximumConflicts: Int
        /// The random pick is among this many free subnets from SubnetMin upwards.
        public var candidateLimit: Int

        public init(plan: SubnetPlan<IPv4Address>, attributes: LeaseAttributes, ttl: Duration = .seconds(24 * 3600),
                    renewMargin: Duration = .seconds(3600), previousSubnet: IPv4Network? = nil,
                    maximumConflicts: Int = 10, candidateLimit: Int = 100) {
            self.plan = plan
            self.attributes = attributes
            self.ttl = ttl
            self.renewMargin = renewMargin
            self.previousSubnet = previousSubnet
            self.maximumConflicts = maximumConflicts
            self.candidateLimit = candidateLimit
        }

        public var effectiveRenewMargin: Duration { min(renewMargin, ttl / 2) }
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
        case leaseLost(SubnetKey, heldBy: IPv4Address?)
        /// Our subnet is not the one we had (or the subnet file named): loud, with both.
        case subnetDrifted(from: IPv4Network, to: IPv4Network)
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
        /// `expected`: the subnet we had or that the subnet file names, for drift reports.
        case acquiring(pending: Pending, conflicts: Int, expected: IPv4Network?, waitingRetry: Bool)
        case holding(HeldLease, renewAt: Timestamp?)
        case renewing(HeldLease)
        /// Our key vanished while we held it: taking the same subnet back.
        case reclaiming(HeldLease, waitingRetry: Bool)
        case failed(LeaseError)
    }

    public let configuration: Configuration
    private(set) var state: State = .idle
    private var retryDelay = Backoff.leaseCall

    public init(configuration: Configuration) {
        self.configuration = configuration
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
        state = .acquiring(pending: .list, conflicts: 0, expected: configuration.previousSubnet, waitingRetry: false)
        return [.listLeases]
    }

    public mutating func leasesListed(_ listing: LeaseListing, now: Timestamp,
                                      using generator: inout some RandomNumberGenerator) -> [Action] {
        guard case let .acquiring(.list, conflicts, expected, false) = state else { return [] }
        retryDelay.succeeded()
        let ours = configuration.attributes
        let mine = listing.records.filter { $0.attributes.publicIP == ours.publicIP }

        // 1. Our own lease from before: reuse it if it fits the config, else delete it.
        if let unfit = mine.first(where: { !configuration.plan.fits($0.key.ipv4) }) {
            state = .acquiring(pending: .delete(unfit.key), conflicts: conflicts, expected: expected, waitingRetry: false)
            return [.deleteLease(unfit.key, expectedModRevision: unfit.modRevision, reason: "it does not fit the network config (\(configuration.plan.network), /\(configuration.plan.subnetLength), \(configuration.plan.subnetMin)–\(configuration.plan.subnetMax))")]
        }
        if let existing = mine.first {
            if existing.isReservation && existing.attributes == ours {
                let held = HeldLease(key: existing.key, attributes: ours, expiry: .reservation, modRevision: existing.modRevision)
                return acquired(held, expected: expected, now: now)
            }
            state = .acquiring(pending: .reuse(existing), conflicts: conflicts, expected: expected, waitingRetry: false)
            return [.updateLease(existing.key, ours, ttl: existing.isReservation ? nil : configuration.ttl,
                                 expectedModRevision: existing.modRevision)]
        }

        // 2. The subnet we had (subnet file, or the lease we just lost), if it is still free.
        // Keys whose value does not parse still occupy their subnet; keys the plan could not
        // have handed out (a /16, a /25) occupy nothing, or one such key would block every host.
        let plan = configuration.plan
        let taken = (listing.records.map(\.key.ipv4) + listing.malformed.compactMap(\.subnet?.ipv4)).filter(plan.isLeaseSized)
        if let expected, configuration.plan.fits(expected), !taken.contains(where: { $0.overlaps(expected) }) {
            return create(SubnetKey(expected), conflicts: conflicts, expected: expected)
        }

        // 3. A random free subnet among the first candidates.
        let free = configuration.plan.freeSubnets(excluding: taken, limit: configuration.candidateLimit)
        guard !free.isEmpty else {
            return fail(.networkFull(plan: configuration.plan, leaseCount: taken.count))
        }
        let pick = free[Int.random(in: 0..<free.count, using: &generator)]
        return create(SubnetKey(pick), conflicts: conflicts, expected: expected)
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
                state = .acquiring(pending: .list, conflicts: 0, expected: lost.subnet, waitingRetry: false)
                return [.leaseLost(lost.key, heldBy: nil), .listLeases]
            }
            return acquired(fresh(lost.key, modRevision: modRevision, now: now), expected: lost.subnet, now: now)
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
                state = .acquiring(pending: .list, conflicts: 0, expected: held.subnet, waitingRetry: false)
                return [.leaseLost(held.key, heldBy: holder.publicIP), .listLeases]
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
    /// it is ours; the call is retried with `Backoff.leaseCall` (0.5 s doubling to 30 s).
    public mutating func operationFailed(now: Timestamp) -> [Action] {
        let delay = retryDelay.failed()
        switch state {
        case let .acquiring(_, conflicts, expected, false):
            state = .acquiring(pending: .list, conflicts: conflicts, expected: expected, waitingRetry: true)
            return [.scheduleRetry(after: delay)]
        case let .renewing(held):
            let retryAt = now + delay
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

    /// The watch saw another host's value written under our key.
    public mutating func ownLeaseOverwritten(by holder: LeaseAttributes, now: Timestamp) -> [Action] {
        guard holder.publicIP != configuration.attributes.publicIP else { return [] }
        switch state {
        case let .holding(held, _), let .renewing(held):
            state = .acquiring(pending: .list, conflicts: 0, expected: held.subnet, waitingRetry: false)
            return [.leaseLost(held.key, heldBy: holder.publicIP), .listLeases]
        default:
            return []
        }
    }

    // MARK: Helpers

    private mutating func create(_ key: SubnetKey, conflicts: Int, expected: IPv4Network?) -> [Action] {
        state = .acquiring(pending: .create(key), conflicts: conflicts, expected: expected, waitingRetry: false)
        return [.createLease(key, configuration.attributes, ttl: configuration.ttl)]
    }

    private func fresh(_ key: SubnetKey, modRevision: Int64, now: Timestamp) -> HeldLease {
        HeldLease(key: key, attributes: configuration.attributes, expiry: .at(now + configuration.ttl), modRevision: modRevision)
    }

    private mutating func acquired(_ held: HeldLease, expected: IPv4Network?, now: Timestamp) -> [Action] {
        let renewAt = renewalTime(held)
        state = .holding(held, renewAt: renewAt)
        var actions: [Action] = [.leaseAcquired(held)]
        if let expected, expected != held.subnet {
            actions.append(.subnetDrifted(from: expected, to: held.subnet))
        }
        if let renewAt { actions.append(.scheduleRenewal(at: renewAt)) }
        return actions
    }

    private func renewalTime(_ held: HeldLease) -> Timestamp? {
        guard case let .at(expiry) = held.expiry else { return nil }
        return expiry - configuration.effectiveRenewMargin
    }

    private mutating func fail(_ error: LeaseError) -> [Action] {
        state = .failed(error)
        return [.failed(error)]
    }
}
