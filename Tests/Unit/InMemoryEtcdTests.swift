import Agent
import Sim
import Synchronization
import Testing

@Suite("In-memory etcd semantics")
struct InMemoryEtcdTests {
    @Test func revisionsCountWritesNotReads() throws {
        var etcd = InMemoryEtcd()
        #expect(etcd.revision == 1)
        #expect(try etcd.put(key: "/a", value: "1") == 2)
        #expect(try etcd.put(key: "/b", value: "1") == 3)
        #expect(try etcd.put(key: "/a", value: "2") == 4)
        _ = etcd.range(prefix: "/")
        #expect(etcd.revision == 4)
        let a = try #require(etcd.range(key: "/a").kvs.first)
        #expect((a.createRevision, a.modRevision, a.version) == (2, 4, 2))
        // Deleting a missing key and a transaction without writes leave the revision alone.
        _ = etcd.delete(key: "/missing")
        _ = try etcd.txn(compare: [.versionEquals(key: "/a", 9)], success: [.delete(key: "/a")], failure: [.get(key: "/a")])
        #expect(etcd.revision == 4)
        #expect(etcd.delete(key: "/a") == 5)
        #expect(try etcd.put(key: "/a", value: "3") == 6)
        let recreated = try #require(etcd.range(key: "/a").kvs.first)
        #expect((recreated.createRevision, recreated.version) == (6, 1))
    }

    @Test func rangeByPrefixInKeyOrder() throws {
        var etcd = InMemoryEtcd()
        for key in ["/n/subnets/10.1.9.0-24", "/n/config", "/n/subnets/10.1.10.0-24", "/n/subnetsX", "/m/x"] {
            _ = try etcd.put(key: key, value: "v")
        }
        #expect(etcd.range(prefix: "/n/subnets/").kvs.map(\.key) == ["/n/subnets/10.1.10.0-24", "/n/subnets/10.1.9.0-24"])
        #expect(etcd.range(prefix: "/n/subnets/").revision == 6)
    }

    @Test func createIfAbsentConflicts() throws {
        var etcd = InMemoryEtcd()
        let create = { (etcd: inout InMemoryEtcd, value: String) throws -> TxnResult in
            try etcd.txn(compare: [.versionEquals(key: "/k", 0)], success: [.put(key: "/k", value: value, lease: 0)], failure: [.get(key: "/k")])
        }
        #expect(try create(&etcd, "first").succeeded)
        let lost = try create(&etcd, "second")
        #expect(!lost.succeeded)
        #expect(lost.gets.first??.value == "first")
        #expect(etcd.range(key: "/k").kvs.first?.value == "first")
    }

    @Test func modRevisionAndValueCompares() throws {
        var etcd = InMemoryEtcd()
        let revision = try etcd.put(key: "/k", value: "v1")
        #expect(try etcd.txn(compare: [.modRevisionEquals(key: "/k", revision)], success: [.put(key: "/k", value: "v2", lease: 0)], failure: []).succeeded)
        #expect(try !etcd.txn(compare: [.modRevisionEquals(key: "/k", revision)], success: [.put(key: "/k", value: "v3", lease: 0)], failure: []).succeeded)
        #expect(try etcd.txn(compare: [.valueEquals(key: "/k", "v2")], success: [], failure: []).succeeded)
        // A value comparison against a missing key is false, as in etcd.
        #expect(try !etcd.txn(compare: [.valueEquals(key: "/nope", "")], success: [], failure: []).succeeded)
        #expect(try etcd.txn(compare: [.modRevisionEquals(key: "/nope", 0)], success: [], failure: []).succeeded)
    }

    @Test func leaseExpiryDeletesKeysInOneRevisionWithDeleteEvents() throws {
        var etcd = InMemoryEtcd()
        let lease = try etcd.grantLease(ttl: 10)
        _ = try etcd.put(key: "/n/a", value: "1", lease: lease)
        _ = try etcd.put(key: "/n/b", value: "1", lease: lease)
        _ = try etcd.put(key: "/n/c", value: "1")
        let events = EventLog()
        _ = try etcd.watch(prefix: "/n/", fromRevision: 0) { events.append($0) }

        #expect(etcd.timeToLive(lease) == 10)
        etcd.advanceTime(to: Timestamp.seconds(4) + .milliseconds(100))
        #expect(etcd.timeToLive(lease) == 5)
        #expect(etcd.range(prefix: "/n/").kvs.count == 3)
        etcd.advanceTime(to: .seconds(10))
        #expect(etcd.range(prefix: "/n/").kvs.map(\.key) == ["/n/c"])
        #expect(etcd.timeToLive(lease) == nil)
        #expect(etcd.revision == 5)
        #expect(events.batches == [WatchBatch(events: [
            WatchEvent(kind: .delete, kv: KeyValue(key: "/n/a", value: "", createRevision: 0, modRevision: 5, version: 0, lease: 0)),
            WatchEvent(kind: .delete, kv: KeyValue(key: "/n/b", value: "", createRevision: 0, modRevision: 5, version: 0, lease: 0)),
        ], revision: 5)])
    }

    @Test func reputWithANewLeaseDetachesTheOldOne() throws {
        var etcd = InMemoryEtcd()
        let first = try etcd.grantLease(ttl: 10)
        _ = try etcd.put(key: "/k", value: "v", lease: first)
        etcd.advanceTime(to: .seconds(5))
        let second = try etcd.grantLease(ttl: 10)
        _ = try etcd.put(key: "/k", value: "v", lease: second)
        etcd.advanceTime(to: .seconds(12)) // the first lease expires: the key stays
        #expect(etcd.range(key: "/k").kvs.first?.lease == second)
        etcd.advanceTime(to: .seconds(15))
        #expect(etcd.range(key: "/k").kvs.isEmpty)
    }

    @Test func revokeAndUnknownLeases() throws {
        var etcd = InMemoryEtcd()
        let lease = try etcd.grantLease(ttl: 100)
        _ = try etcd.put(key: "/k", value: "v", lease: lease)
        try etcd.revokeLease(lease)
        #expect(etcd.range(key: "/k").kvs.isEmpty)
        #expect(throws: EtcdError.leaseNotFound(lease)) { try etcd.revokeLease(lease) }
        #expect(throws: EtcdError.leaseNotFound(lease)) { try etcd.put(key: "/k", value: "v", lease: lease) }
        // etcd raises tiny TTLs to its minimum instead of refusing them.
        let tiny = try etcd.grantLease(ttl: 0)
        #expect(etcd.timeToLive(tiny) == InMemoryEtcd.minimumLeaseTTL)
        // A revoke of a lease without keys writes nothing.
        let empty = try etcd.grantLease(ttl: 5)
        let before = etcd.revision
        try etcd.revokeLease(empty)
        #expect(etcd.revision == before)
    }

    @Test func watchReplaysFromARevisionThenFollows() throws {
        var etcd = InMemoryEtcd()
        _ = try etcd.put(key: "/n/a", value: "1")   // 2
        _ = try etcd.put(key: "/other", value: "1") // 3
        _ = try etcd.put(key: "/n/b", value: "1")   // 4
        let events = EventLog()
        _ = try etcd.watch(prefix: "/n/", fromRevision: 3) { events.append($0) }
        _ = try etcd.put(key: "/n/a", value: "2")   // 5
        #expect(events.batches.map(\.revision) == [4, 5])
        #expect(events.batches.last?.events.first?.kv.value == "2")

        // A watch from a future revision sees nothing before it.
        let future = EventLog()
        _ = try etcd.watch(prefix: "/n/", fromRevision: 7) { future.append($0) }
        _ = try etcd.put(key: "/n/a", value: "3")   // 6
        _ = try etcd.put(key: "/n/a", value: "4")   // 7
        #expect(future.batches.map(\.revision) == [7])
    }

    @Test func compactionFailsOlderWatchesWithTheCompactRevision() throws {
        var etcd = InMemoryEtcd()
        for index in 0..<5 { _ = try etcd.put(key: "/n/\(index)", value: "v") } // revisions 2...6
        try etcd.compact(5)
        #expect(throws: EtcdError.compacted(compactRevision: 5)) {
            try etcd.watch(prefix: "/n/", fromRevision: 3) { _ in }
        }
        #expect(throws: EtcdError.compacted(compactRevision: 5)) { try etcd.history(prefix: "/n/", fromRevision: 4) }
        #expect(try etcd.history(prefix: "/n/", fromRevision: 5).map(\.revision) == [5, 6])
        #expect(throws: EtcdError.self) { try etcd.compact(99) }
        #expect(throws: EtcdError.compacted(compactRevision: 5)) { try etcd.compact(4) }
    }

    @Test func oneTransactionIsOneRevision() throws {
        var etcd = InMemoryEtcd()
        let result = try etcd.txn(compare: [], success: [.put(key: "/a", value: "1", lease: 0), .put(key: "/b", value: "1", lease: 0), .get(key: "/a")], failure: [])
        #expect(result.revision == 2)
        #expect(result.gets.first??.modRevision == 2)
        #expect(etcd.range(key: "/b").kvs.first?.modRevision == 2)
    }
}

/// Collects watch batches delivered synchronously by the in-memory etcd.
final class EventLog: Sendable {
    private let store = Mutex<[WatchBatch]>([])
    var batches: [WatchBatch] { store.withLock { $0 } }
    func append(_ batch: WatchBatch) { store.withLock { $0.append(batch) } }
}
