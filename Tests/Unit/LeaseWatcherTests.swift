import Agent
import Sim
import Synchronization
import Testing

/// The resilient watch over the in-memory etcd: resume, resync after compaction, backoff.
@Suite("Lease watcher")
struct LeaseWatcherTests {
    let layout = EtcdKeyLayout(prefix: "/n")
    let me = LeaseAttributes(publicIP: IPv4Address(192, 0, 2, 1))

    /// An etcd whose watches fail the first `failures` times.
    final class FlakyKV: EtcdKV {
        let inner: InMemoryEtcdServer
        let remainingFailures: Mutex<Int>
        init(_ inner: InMemoryEtcdServer, failures: Int) {
            self.inner = inner
            remainingFailures = Mutex(failures)
        }
        func range(key: String) async throws -> RangeResult { try await inner.range(key: key) }
        func range(prefix: String) async throws -> RangeResult { try await inner.range(prefix: prefix) }
        func txn(compare: [TxnCompare], success: [TxnOperation], failure: [TxnOperation]) async throws -> TxnResult {
            try await inner.txn(compare: compare, success: success, failure: failure)
        }
        func grantLease(ttl: Int64) async throws -> Int64 { try await inner.grantLease(ttl: ttl) }
        func revokeLease(_ id: Int64) async throws { try await inner.revokeLease(id) }
        func timeToLive(_ id: Int64) async throws -> Int64? { try await inner.timeToLive(id) }
        func watch(prefix: String, fromRevision revision: Int64) -> AsyncThrowingStream<WatchBatch, any Error> {
            let fail = remainingFailures.withLock { count -> Bool in
                defer { count -= 1 }
                return count > 0
            }
            if fail { return AsyncThrowingStream { $0.finish(throwing: EtcdError.unavailable("tried http://192.0.2.9:2379 (connection refused)")) } }
            return inner.watch(prefix: prefix, fromRevision: revision)
        }
    }

    final class Sleeps: Sendable {
        let recorded = Mutex<[Duration]>([])
        func sleep(_ duration: Duration) async throws { recorded.withLock { $0.append(duration) } }
        var all: [Duration] { recorded.withLock { $0 } }
    }

    @Test func backsOffDoublingToFiveSecondsAndReportsTheOutageOnce() async throws {
        let server = InMemoryEtcdServer()
        let registry = EtcdRegistry(kv: FlakyKV(server, failures: 8), layout: layout)
        let sleeps = Sleeps()
        let watcher = LeaseWatcher(registry: registry, sleep: { try await sleeps.sleep($0) })
        var updates = watcher.updates(after: 1).makeAsyncIterator()

        let first = await updates.next()
        guard case let .interrupted(reason, retryIn)? = first else {
            Issue.record("expected an interruption, got \(String(describing: first))")
            return
        }
        #expect(reason.contains("connection refused"))
        #expect(retryIn == .milliseconds(100))
        _ = try await EtcdRegistry(kv: server, layout: layout).createLease(SubnetKey(IPv4Network("10.1.5.0/24")!), attributes: me, ttl: .seconds(60))
        let resumed = await updates.next()
        #expect(resumed == .resumed(afterRevision: 1))
        guard case let .events(batch)? = await updates.next() else {
            Issue.record("expected events")
            return
        }
        #expect(batch.revision == 2)
        #expect(sleeps.all == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
                               .milliseconds(1600), .milliseconds(3200), .seconds(5), .seconds(5)])
    }

    @Test func compactionLeadsToAResyncFromAFreshListing() async throws {
        let server = InMemoryEtcdServer()
        let registry = EtcdRegistry(kv: server, layout: layout)
        for index in 1...3 {
            _ = try await registry.createLease(SubnetKey(IPv4Network("10.1.\(index).0/24")!), attributes: me, ttl: .seconds(60))
        }
        try server.withStore { try $0.compact(4) }
        let watcher = LeaseWatcher(registry: registry, sleep: { _ in })
        var updates = watcher.updates(after: 1).makeAsyncIterator()
        guard case let .resynced(listing)? = await updates.next() else {
            Issue.record("expected a resync")
            return
        }
        #expect(listing.records.count == 3)
        #expect(listing.revision == 4)
        _ = try await registry.createLease(SubnetKey(IPv4Network("10.1.9.0/24")!), attributes: me, ttl: .seconds(60))
        guard case let .events(batch)? = await updates.next() else {
            Issue.record("expected events after the resync")
            return
        }
        #expect(batch.revision == 5)
    }
}
