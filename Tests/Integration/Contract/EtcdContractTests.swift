import Agent
import Foundation
import NetnsLab
import Sim
import Testing

/// The etcd behaviour the agent relies on, as one suite run against both the in-memory etcd
/// and a real etcd process. A difference is a bug in the fake.
@Suite("etcd contract (fake and real)", .serialized, .enabled(if: LabGate.shouldRun))
struct EtcdContractTests {
    static let flavors = EtcdFlavor.allCases

    func world(_ flavor: EtcdFlavor) throws -> EtcdWorld? {
        if flavor == .real && !LabGate.requireRoot() { return nil }
        return try EtcdWorld(flavor)
    }

    func put(_ kv: any EtcdKV, _ key: String, _ value: String, lease: Int64 = 0) async throws -> Int64 {
        try await kv.txn(compare: [], success: [.put(key: key, value: value, lease: lease)], failure: []).revision
    }

    @Test(arguments: flavors)
    func putGetAndRangeByPrefix(_ flavor: EtcdFlavor) async throws {
        guard let world = try world(flavor) else { return }
        let kv = world.kv
        let first = try await put(kv, "/flannel/subnets/10.1.9.0-24", "a")
        let second = try await put(kv, "/flannel/subnets/10.1.10.0-24", "b")
        _ = try await put(kv, "/flannel/subnetsX", "not under subnets/")
        _ = try await put(kv, "/flannel/config", "c")
        #expect(second == first + 1)

        let single = try await kv.range(key: "/flannel/config")
        #expect(single.kvs.map(\.value) == ["c"])
        let listing = try await kv.range(prefix: "/flannel/subnets/")
        #expect(listing.kvs.map(\.key) == ["/flannel/subnets/10.1.10.0-24", "/flannel/subnets/10.1.9.0-24"])
        #expect(listing.revision == first + 3)
        let stored = try #require(listing.kvs.last)
        #expect((stored.createRevision, stored.modRevision, stored.version, stored.lease) == (first, first, 1, 0))
        #expect(try await kv.range(key: "/missing").kvs.isEmpty)
        await world.close()
    }

    @Test(arguments: flavors)
    func createIfAbsentConflictsAndReportsTheHolder(_ flavor: EtcdFlavor) async throws {
        guard let world = try world(flavor) else { return }
        let kv = world.kv
        let create = { (value: String) in
            try await kv.txn(compare: [.versionEquals(key: "/n/subnets/10.1.5.0-24", 0)],
                             success: [.put(key: "/n/subnets/10.1.5.0-24", value: value, lease: 0)],
                             failure: [.get(key: "/n/subnets/10.1.5.0-24")])
        }
        let won = try await create("first")
        #expect(won.succeeded)
        #expect(won.gets.isEmpty)
        let lost = try await create("second")
        #expect(!lost.succeeded)
        #expect(lost.revision == won.revision)
        #expect(lost.gets.first??.value == "first")

        // Compare on mod revision, and on a missing key's value (false in etcd).
        let renew = try await kv.txn(compare: [.modRevisionEquals(key: "/n/subnets/10.1.5.0-24", won.revision)],
                                     success: [.put(key: "/n/subnets/10.1.5.0-24", value: "renewed", lease: 0)], failure: [])
        #expect(renew.succeeded)
        let missing = try await kv.txn(compare: [.valueEquals(key: "/n/none", "")], success: [], failure: [])
        #expect(!missing.succeeded)
        await world.close()
    }

    @Test(arguments: flavors)
    func leaseExpiryDeletesTheKeyWithADeleteEvent(_ flavor: EtcdFlavor) async throws {
        guard let world = try world(flavor) else { return }
        let kv = world.kv
        let lease = try await kv.grantLease(ttl: 2)
        let ttl = try #require(try await kv.timeToLive(lease))
        #expect((1...2).contains(ttl))
        let created = try await put(kv, "/n/subnets/10.1.5.0-24", "v", lease: lease)
        #expect(try await kv.range(key: "/n/subnets/10.1.5.0-24").kvs.first?.lease == lease)

        var events = kv.watch(prefix: "/n/", fromRevision: created + 1).makeAsyncIterator()
        try await world.eventually("the leased key to expire") {
            try await kv.range(key: "/n/subnets/10.1.5.0-24").kvs.isEmpty
        }
        let batch = try #require(try await events.next())
        #expect(batch.revision == created + 1)
        #expect(batch.events.map(\.kind) == [.delete])
        #expect(batch.events.first?.kv.key == "/n/subnets/10.1.5.0-24")
        #expect(try await kv.timeToLive(lease) == nil)
        await world.close()
    }

    @Test(arguments: flavors)
    func revokeDeletesAttachedKeysInOneRevision(_ flavor: EtcdFlavor) async throws {
        guard let world = try world(flavor) else { return }
        let kv = world.kv
        let lease = try await kv.grantLease(ttl: 60)
        _ = try await put(kv, "/n/a", "1", lease: lease)
        let last = try await put(kv, "/n/b", "1", lease: lease)
        try await kv.revokeLease(lease)
        let after = try await kv.range(prefix: "/n/")
        #expect(after.kvs.isEmpty)
        #expect(after.revision == last + 1)
        await #expect(throws: EtcdError.self) { try await kv.revokeLease(lease) }
        #expect(try await kv.timeToLive(lease) == nil)
        await world.close()
    }

    @Test(arguments: flavors)
    func watchFromAnOldRevisionReplaysThenFollows(_ flavor: EtcdFlavor) async throws {
        guard let world = try world(flavor) else { return }
        let kv = world.kv
        let first = try await put(kv, "/n/a", "1")
        _ = try await put(kv, "/other", "x")
        _ = try await kv.txn(compare: [], success: [.put(key: "/n/b", value: "1", lease: 0), .delete(key: "/n/a")], failure: [])
        var events = kv.watch(prefix: "/n/", fromRevision: first).makeAsyncIterator()
        let replayFirst = try #require(try await events.next())
        #expect(replayFirst.revision == first)
        let replaySecond = try #require(try await events.next())
        #expect(replaySecond.revision == first + 2)
        #expect(replaySecond.events.map(\.kind) == [.put, .delete])
        #expect(replaySecond.events.map(\.kv.key) == ["/n/b", "/n/a"])
        let live = try await put(kv, "/n/c", "1")
        let followed = try #require(try await events.next())
        #expect(followed.revision == live)
        #expect(followed.events.first?.kv.value == "1")
        await world.close()
    }

    @Test(arguments: flavors)
    func watchFromACompactedRevisionFailsWithTheCompactRevision(_ flavor: EtcdFlavor) async throws {
        guard let world = try world(flavor) else { return }
        let kv = world.kv
        var revision: Int64 = 0
        for index in 0..<4 { revision = try await put(kv, "/n/\(index)", "v") }
        try await world.compact(revision - 1)
        var events = kv.watch(prefix: "/n/", fromRevision: revision - 2).makeAsyncIterator()
        await #expect(throws: EtcdError.compacted(compactRevision: revision - 1)) { _ = try await events.next() }
        // From the compact revision itself is still allowed.
        var fromCompact = kv.watch(prefix: "/n/", fromRevision: revision - 1).makeAsyncIterator()
        #expect(try await fromCompact.next()?.revision == revision - 1)
        await world.close()
    }

    @Test(arguments: flavors)
    func aUserLimitedToOnePrefixIsAllowedInsideAndRefusedOutside(_ flavor: EtcdFlavor) async throws {
        guard let world = try world(flavor) else { return }
        let user = try await world.userLimited(to: "/flannel-test/")
        _ = try await put(user, "/flannel-test/network/config", #"{ "Network": "10.1.0.0/16" }"#)
        #expect(try await user.range(prefix: "/flannel-test/network/").kvs.count == 1)
        let lease = try await user.grantLease(ttl: 60)
        _ = try await put(user, "/flannel-test/network/subnets/10.1.82.0-24", "v", lease: lease)

        await #expect {
            _ = try await user.range(key: "/coreos.com/network/config")
        } throws: { error in
            guard case let EtcdError.permissionDenied(key, _)? = error as? EtcdError else { return false }
            return key == "/coreos.com/network/config" && "\(error)".contains("readwrite")
        }
        await #expect(throws: EtcdError.self) { _ = try await put(user, "/elsewhere", "x") }
        var forbidden = user.watch(prefix: "/coreos.com/", fromRevision: 0).makeAsyncIterator()
        await #expect {
            _ = try await forbidden.next()
        } throws: { error in
            if case .permissionDenied? = error as? EtcdError { return true }
            return false
        }
        await #expect {
            _ = try await world.wrongPassword().range(key: "/flannel-test/network/config")
        } throws: { error in
            if case .authenticationFailed? = error as? EtcdError { return true }
            return false
        }
        if let client = user as? EtcdV3Client { await client.close() }
        await world.close()
    }

    /// flannel's own operations, end to end, on both.
    @Test(arguments: flavors)
    func theAgentsRegistryOperationsBehaveTheSame(_ flavor: EtcdFlavor) async throws {
        guard let world = try world(flavor) else { return }
        let registry = EtcdRegistry(kv: world.kv, layout: EtcdKeyLayout(prefix: "/flannel-test/network"))
        let me = LeaseAttributes(publicIP: IPv4Address(10, 12, 10, 200))
        let other = LeaseAttributes(publicIP: IPv4Address(10, 12, 10, 193))
        let key = SubnetKey(IPv4Network("10.1.82.0/24")!)

        #expect(try await registry.networkConfig() == nil)
        let created = try #require(try await registry.createLease(key, attributes: me, ttl: .seconds(60)))
        #expect(try await registry.createLease(key, attributes: other, ttl: .seconds(60)) == nil)
        guard case let .updated(renewed) = try await registry.updateLease(key, attributes: me, ttl: .seconds(60), expectedModRevision: created) else {
            Issue.record("renewal failed on \(flavor)")
            return
        }
        guard case let .expires(remaining) = try await registry.leaseTimeToLive(key) else {
            Issue.record("no TTL on \(flavor)")
            return
        }
        #expect(remaining <= .seconds(60) && remaining >= .seconds(55))
        let listing = try await registry.listLeases()
        #expect(listing.records.map(\.key) == [key])
        #expect(listing.records.first?.modRevision == renewed)
        try await registry.deleteLease(key, expectedModRevision: renewed)
        #expect(try await registry.listLeases().records.isEmpty)
        await world.close()
    }
}
