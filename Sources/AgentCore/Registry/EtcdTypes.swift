/// The slice of etcd v3's data model that the agent uses. The in-memory etcd and the gRPC
/// client both speak it, so the registry logic above them is written once.

/// One key's state (etcd's `mvccpb.KeyValue`).
public struct KeyValue: Equatable, Sendable {
    public var key: String
    public var value: String
    public var createRevision: Int64
    public var modRevision: Int64
    public var version: Int64
    /// The etcd lease attached to the key, 0 for none (a flannel "reservation").
    public var lease: Int64

    public init(key: String, value: String, createRevision: Int64, modRevision: Int64, version: Int64, lease: Int64) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }
}

/// The answer to a range request: the keys and the store's revision when it was read.
public struct RangeResult: Equatable, Sendable {
    public var kvs: [KeyValue]
    public var revision: Int64

    public init(kvs: [KeyValue], revision: Int64) {
        self.kvs = kvs
        self.revision = revision
    }
}

/// A transaction guard. Only equality is needed: "version is 0" (absent) for create, and
/// "mod revision is what we wrote" for renew.
public enum TxnCompare: Equatable, Sendable {
    case versionEquals(key: String, Int64)
    case modRevisionEquals(key: String, Int64)
    case valueEquals(key: String, String)
}

/// A transaction step.
public enum TxnOperation: Equatable, Sendable {
    case put(key: String, value: String, lease: Int64)
    case delete(key: String)
    case get(key: String)
}

public struct TxnResult: Equatable, Sendable {
    public var succeeded: Bool
    /// The store's revision after the transaction.
    public var revision: Int64
    /// For each `.get` executed, in order, the key's state (nil when absent).
    public var gets: [KeyValue?]

    public init(succeeded: Bool, revision: Int64, gets: [KeyValue?]) {
        self.succeeded = succeeded
        self.revision = revision
        self.gets = gets
    }
}

/// A change seen by a watch. A delete carries the key and the deleting revision, no value.
public struct WatchEvent: Equatable, Sendable {
    public enum Kind: Equatable, Sendable { case put, delete }
    public var kind: Kind
    public var kv: KeyValue

    public init(kind: Kind, kv: KeyValue) {
        self.kind = kind
        self.kv = kv
    }
}

/// Events that happened at one revision (a transaction can change several keys at once).
public struct WatchBatch: Equatable, Sendable {
    public var events: [WatchEvent]
    public var revision: Int64

    public init(events: [WatchEvent], revision: Int64) {
        self.events = events
        self.revision = revision
    }
}

/// Errors with a meaning the agent acts on. Transport and auth errors come from the clients
/// themselves and say which endpoint failed and why.
public enum EtcdError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The requested revision was compacted away; re-list, then watch from the new revision.
    case compacted(compactRevision: Int64)
    /// The lease ID is unknown (expired or revoked).
    case leaseNotFound(Int64)
    /// A request etcd refused as malformed (e.g. a TTL that is too large).
    case invalidRequest(String)
    /// The user's role may not touch `key` (or the range starting there).
    case permissionDenied(key: String, user: String?)
    /// Wrong user name or password.
    case authenticationFailed(user: String)
    /// No endpoint could be reached; the text says which were tried and why each failed.
    case unavailable(String)
    /// An endpoint answered something that is not what etcd answers.
    case badResponse(endpoint: String, reason: String)
    /// etcd's v2 API refused `key` (HTTP 401): it does not say whether the password was wrong
    /// or the user's roles lack the prefix.
    case v2AccessRefused(key: String, user: String?)
    /// An answer (one listing page, one v2 body, one watch message) above what the client
    /// takes: something under the prefix holds far more than flannel writes.
    case answerTooLarge(what: String, limitBytes: Int)

    public var description: String {
        switch self {
        case let .compacted(revision): "etcd history was compacted at revision \(revision); re-listing"
        case let .leaseNotFound(id): "etcd lease \(String(id, radix: 16)) not found (expired or revoked)"
        case let .invalidRequest(reason): "etcd refused the request: \(reason)"
        case let .permissionDenied(key, user):
            "etcd denied access to \(key)" + (user.map { " for user \"\($0)\"" } ?? "")
                + ": grant the user's role read/write on the flannel prefix (etcdctl role grant-permission <role> --prefix=true readwrite <prefix>/)"
        case let .authenticationFailed(user):
            "etcd rejected the credentials of user \"\(user)\": check --etcd-username and the password (--etcd-password-file or FLANNELD_ETCD_PASSWORD)"
        case let .unavailable(details): "etcd is unavailable: \(details)"
        case let .badResponse(endpoint, reason): "\(endpoint) answered something etcd would not: \(reason); is it an etcd endpoint?"
        case let .v2AccessRefused(key, user):
            "etcd (v2 API) refused access to \(key)" + (user.map { " for user \"\($0)\"" } ?? " without credentials")
                + ": either the password is wrong (--etcd-username, --etcd-password-file) or no role of the user may read/write there"
                + " (etcdctl role grant <role> -path '<prefix>/*' -readwrite; etcdctl user grant <user> -roles <role>)"
        case let .answerTooLarge(what, limit):
            "etcd's answer to \(what) is larger than \(limit >> 20) MiB, far more than flannel's leases need:"
                + " look for large or many foreign values under the prefix (etcdctl get --prefix --keys-only) and delete them; retrying"
        }
    }
}

/// What the agent needs from an etcd v3 server. `EtcdRegistry` builds flannel's operations
/// on it; the in-memory etcd and the gRPC client implement it.
public protocol EtcdKV: Sendable {
    func range(key: String) async throws -> RangeResult
    func range(prefix: String) async throws -> RangeResult
    func txn(compare: [TxnCompare], success: [TxnOperation], failure: [TxnOperation]) async throws -> TxnResult
    /// Grants a lease of `ttl` seconds and returns its ID.
    func grantLease(ttl: Int64) async throws -> Int64
    func revokeLease(_ id: Int64) async throws
    /// Remaining seconds of a lease, or nil when it does not exist.
    func timeToLive(_ id: Int64) async throws -> Int64?
    /// Batches of changes under `prefix`, starting at `revision`. Ends with
    /// `EtcdError.compacted` when `revision` is older than the compacted history.
    func watch(prefix: String, fromRevision revision: Int64) -> AsyncThrowingStream<WatchBatch, any Error>
}
