/// A lease in the registry, parsed.
public struct LeaseRecord: Equatable, Sendable {
    public var key: SubnetKey
    public var attributes: LeaseAttributes
    /// A key without a TTL: an operator's reservation, never expired, never given a TTL.
    public var isReservation: Bool
    /// The revision at which the value was last written (used to renew only what we wrote).
    public var modRevision: Int64
    /// The revision that created the key: of two dual-stack leases sharing a subnet under
    /// different keys, the older keeps it.
    public var createRevision: Int64

    public init(key: SubnetKey, attributes: LeaseAttributes, isReservation: Bool, modRevision: Int64, createRevision: Int64 = 0) {
        self.key = key
        self.attributes = attributes
        self.isReservation = isReservation
        self.modRevision = modRevision
        self.createRevision = createRevision
    }
}

/// An entry under `subnets/` that could not be used: a key that is not a subnet key, a
/// value that does not decode, or a key the network plan could not have handed out.
/// Reported, skipped, never fatal.
public struct MalformedLease: Error, Equatable, Sendable, CustomStringConvertible {
    /// Why the entry is skipped, as `/metrics` counts it.
    public enum Kind: String, Equatable, Sendable, CaseIterable {
        case badKey = "bad_key"
        case badValue = "bad_value"
        /// The prefix length is not the network's `SubnetLen` (a /25 inside a peer's /24, a /16).
        case wrongLength = "wrong_length"
        case outsideNetwork = "outside_network"
    }

    /// The etcd key, as stored (attacker text: log it through `LogText`).
    public var key: String
    public var reason: String
    /// The subnet, when the key parses but the value does not: the key still exists, so the
    /// subnet is not free.
    public var subnet: SubnetKey?
    public var kind: Kind

    public init(key: String, reason: String, subnet: SubnetKey? = nil, kind: Kind? = nil) {
        self.key = key
        self.reason = reason
        self.subnet = subnet
        self.kind = kind ?? (subnet == nil ? .badKey : .badValue)
    }

    /// One bounded line, whatever the key and value held.
    public var description: String { "skipping lease \(LogText.quoted(key)): \(LogText.bounded(reason))" }
}

/// All leases at one revision.
public struct LeaseListing: Equatable, Sendable {
    public var records: [LeaseRecord]
    public var malformed: [MalformedLease]
    public var revision: Int64

    public init(records: [LeaseRecord], malformed: [MalformedLease] = [], revision: Int64) {
        self.records = records
        self.malformed = malformed
        self.revision = revision
    }
}

/// A change to the leases, from the watch.
public enum LeaseEvent: Equatable, Sendable {
    case put(LeaseRecord)
    case delete(SubnetKey)
    case malformed(MalformedLease)
}

/// Lease events that happened at one revision.
public struct LeaseEventBatch: Equatable, Sendable {
    public var events: [LeaseEvent]
    public var revision: Int64

    public init(events: [LeaseEvent], revision: Int64) {
        self.events = events
        self.revision = revision
    }
}

/// How a renewal (or a re-put of a reused lease) went.
public enum LeaseUpdateOutcome: Equatable, Sendable {
    /// Written; `modRevision` is the new revision of our key.
    case updated(modRevision: Int64)
    /// Our key no longer exists (expired or deleted).
    case missing
    /// Another host's value is there now.
    case heldByOther(LeaseAttributes)
}

/// A registry answer the agent cannot act on; it retries later.
public struct RegistryContention: Error, Equatable, Sendable, CustomStringConvertible {
    public var key: String
    public init(key: String) { self.key = key }
    public var description: String {
        "\(key) keeps being rewritten with our own public IP by someone else; is a second agent running with the same public IP?"
    }
}

/// How long a subnet key has left.
public enum LeaseTimeToLive: Equatable, Sendable {
    case absent
    case reservation
    case expires(in: Duration)
}

/// The agent's view of the shared store: flannel's operations, not etcd's. Implemented over
/// etcd v3 (`EtcdRegistry` on any `EtcdKV`: gRPC or in-memory) and, later, etcd v2.
public protocol Registry: Sendable {
    /// The raw network config document, or nil when `<prefix>/config` does not exist.
    func networkConfig() async throws -> String?
    func listLeases() async throws -> LeaseListing
    /// Creates the lease only if no key exists for the subnet. Returns the new key's mod
    /// revision, or nil when the subnet is already taken (a lost race).
    func createLease(_ key: SubnetKey, attributes: LeaseAttributes, ttl: Duration) async throws -> Int64?
    /// Rewrites our lease with a fresh TTL (nil: keep it a reservation, no TTL), but only if the
    /// key still holds our value: never resurrects an expired key, never overwrites a peer's.
    func updateLease(_ key: SubnetKey, attributes: LeaseAttributes, ttl: Duration?, expectedModRevision: Int64) async throws -> LeaseUpdateOutcome
    /// Deletes our lease, but only if it is still at `expectedModRevision` (never a lease
    /// that another host wrote in the meantime).
    func deleteLease(_ key: SubnetKey, expectedModRevision: Int64) async throws
    func leaseTimeToLive(_ key: SubnetKey) async throws -> LeaseTimeToLive
    /// Lease changes after `revision`. Ends with `EtcdError.compacted` when the history from
    /// there is gone: the caller re-lists.
    func watchLeases(after revision: Int64) -> AsyncThrowingStream<LeaseEventBatch, any Error>
}
