import AgentCore
import Synchronization

/// etcd's authentication as the agent meets it: users with passwords and roles that may
/// read/write key prefixes. `InMemoryEtcdServer.session(user:password:)` hands out a view that
/// enforces them, so the contract suite runs its auth tests on the fake too.
public struct InMemoryEtcdAuth: Sendable {
    struct User: Sendable {
        var password: String
        var readWritePrefixes: [String]
    }

    private var users: [String: User] = [:]

    public init() {}

    /// Adds a user whose role may read and write everything under each of `prefixes`.
    public mutating func addUser(_ name: String, password: String, readWritePrefixes: [String]) {
        users[name] = User(password: password, readWritePrefixes: readWritePrefixes)
    }

    func authenticate(_ name: String, password: String) throws(EtcdError) -> User {
        guard let user = users[name], user.password == password else { throw .authenticationFailed(user: name) }
        return user
    }
}

/// A user's authenticated view of the in-memory etcd: every key a request touches must lie
/// under one of the user's prefixes, as etcd's RBAC checks it; lease calls need no key
/// permission (as in etcd for non-root users with keys attached only through puts).
public struct InMemoryEtcdSession: EtcdKV {
    let server: InMemoryEtcdServer
    let user: String
    let prefixes: [String]

    private func check(_ key: String, isPrefix: Bool = false) throws {
        let allowed = prefixes.contains { key.hasPrefix($0) && (!isPrefix || key.count >= $0.count) }
        guard allowed else { throw EtcdError.permissionDenied(key: key, user: user) }
    }

    public func range(key: String) async throws -> RangeResult {
        try check(key)
        return try await server.range(key: key)
    }

    public func range(prefix: String) async throws -> RangeResult {
        try check(prefix, isPrefix: true)
        return try await server.range(prefix: prefix)
    }

    public func txn(compare: [TxnCompare], success: [TxnOperation], failure: [TxnOperation]) async throws -> TxnResult {
        for item in compare {
            switch item {
            case let .versionEquals(key, _), let .modRevisionEquals(key, _), let .valueEquals(key, _): try check(key)
            }
        }
        for operation in success + failure {
            switch operation {
            case let .put(key, _, _), let .delete(key), let .get(key): try check(key)
            }
        }
        return try await server.txn(compare: compare, success: success, failure: failure)
    }

    public func grantLease(ttl: Int64) async throws -> Int64 { try await server.grantLease(ttl: ttl) }
    public func revokeLease(_ id: Int64) async throws { try await server.revokeLease(id) }
    public func timeToLive(_ id: Int64) async throws -> Int64? { try await server.timeToLive(id) }

    public func watch(prefix: String, fromRevision revision: Int64) -> AsyncThrowingStream<WatchBatch, any Error> {
        do {
            try check(prefix, isPrefix: true)
        } catch {
            return AsyncThrowingStream { $0.finish(throwing: error) }
        }
        return server.watch(prefix: prefix, fromRevision: revision)
    }
}
