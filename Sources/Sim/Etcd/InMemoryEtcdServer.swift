import AgentCore
import Synchronization

/// The in-memory etcd behind the `EtcdKV` protocol, for async callers: unit tests, the
/// contract suite, and `EtcdRegistry`. Thread-safe; time moves only with `advanceTime`.
public final class InMemoryEtcdServer: EtcdKV {
    private let state: Mutex<InMemoryEtcd>
    private let auth = Mutex(InMemoryEtcdAuth())

    public init(now: Timestamp = .zero) {
        state = Mutex(InMemoryEtcd(now: now))
    }

    /// Adds a user whose role may read and write everything under each of `prefixes`.
    public func addUser(_ name: String, password: String, readWritePrefixes: [String]) {
        auth.withLock { $0.addUser(name, password: password, readWritePrefixes: readWritePrefixes) }
    }

    /// Authenticates and returns the user's view, which enforces the role's prefixes.
    public func session(user: String, password: String) throws -> InMemoryEtcdSession {
        let account = try auth.withLock { auth throws(EtcdError) in try auth.authenticate(user, password: password) }
        return InMemoryEtcdSession(server: self, user: user, prefixes: account.readWritePrefixes)
    }

    /// Runs `body` on the store under the lock (for tests that seed or inspect it).
    public func withStore<T>(_ body: (inout InMemoryEtcd) throws -> T) rethrows -> T {
        try state.withLock { try body(&$0) }
    }

    public func advanceTime(by duration: Duration) {
        state.withLock { $0.advanceTime(to: $0.now + duration) }
    }

    public func range(key: String) async throws -> RangeResult {
        state.withLock { $0.range(key: key) }
    }

    public func range(prefix: String) async throws -> RangeResult {
        state.withLock { $0.range(prefix: prefix) }
    }

    public func txn(compare: [TxnCompare], success: [TxnOperation], failure: [TxnOperation]) async throws -> TxnResult {
        try state.withLock { etcd throws(EtcdError) in try etcd.txn(compare: compare, success: success, failure: failure) }
    }

    public func grantLease(ttl: Int64) async throws -> Int64 {
        try state.withLock { etcd throws(EtcdError) in try etcd.grantLease(ttl: ttl) }
    }

    public func revokeLease(_ id: Int64) async throws {
        try state.withLock { etcd throws(EtcdError) in try etcd.revokeLease(id) }
    }

    public func timeToLive(_ id: Int64) async throws -> Int64? {
        state.withLock { $0.timeToLive(id) }
    }

    public func watch(prefix: String, fromRevision revision: Int64) -> AsyncThrowingStream<WatchBatch, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: WatchBatch.self, throwing: (any Error).self,
                                                                    bufferingPolicy: .unbounded)
        let registration = state.withLock { etcd -> Result<Int, EtcdError> in
            do throws(EtcdError) {
                return .success(try etcd.watch(prefix: prefix, fromRevision: revision) { continuation.yield($0) })
            } catch {
                return .failure(error)
            }
        }
        switch registration {
        case let .success(id):
            // Termination may run on any thread, never inside our lock (we never finish
            // the stream while holding it).
            continuation.onTermination = { [weak self] _ in
                self?.state.withLock { $0.cancelWatch(id) }
            }
        case let .failure(error):
            continuation.finish(throwing: error)
        }
        return stream
    }
}
