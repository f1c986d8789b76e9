import Agent
import Sim
import Testing

/// flannel's operations (`EtcdRegistry`) over the in-memory etcd: the key layout, values and
/// transactions upstream uses, and the defects it fixes.
@Suite("Registry over etcd v3 (in memory)")
struct EtcdRegistryTests {
    let server = InMemoryEtcdServer()
    let layout = EtcdKeyLayout(prefix: "/flannel-test/network/")
    var registry: EtcdRegistry { EtcdRegistry(kv: server, layout: layout) }
    let me = LeaseAttributes(publicIP: IPv4Address(10, 12, 10, 200))

    @Test func keyLayoutTrimsSlashes() {
        #expect(layout.configKey == "/flannel-test/network/config")
        #expect(layout.leaseKey(Fixtures.key("10.1.82.0/24")) == "/flannel-test/network/subnets/10.1.82.0-24")
        #expect(EtcdKeyLayout().subnetsPrefix == "/coreos.com/network/subnets")
        // As upstream's path.Join: no leading slash is invented.
        #expect(EtcdKeyLayout(prefix: "flannel//").configKey == "flannel/config")
        #expect(EtcdKeyLayout(prefix: "/").configKey == "/config")
    }

    @Test func readsTheConfigOrSaysItIsMissing() async throws {
        #expect(try await registry.networkConfig() == nil)
        _ = try server.withStore { try $0.put(key: "/flannel-test/network/config", value: #"{ "Network": "10.1.0.0/16" }"#) }
        #expect(try await registry.networkConfig() == #"{ "Network": "10.1.0.0/16" }"#)
    }

    @Test func createsWithATTLLeaseOnlyIfAbsent() async throws {
        let key = Fixtures.key("10.1.82.0/24")
        let revision = try #require(try await registry.createLease(key, attributes: me, ttl: .seconds(86_400)))
        let stored = try #require(server.withStore { $0.range(key: "/flannel-test/network/subnets/10.1.82.0-24").kvs.first })
        #expect(stored.value == #"{"PublicIP":"10.12.10.200","PublicIPv6":null}"#)
        #expect(stored.modRevision == revision)
        #expect(stored.lease != 0)
        #expect(try await registry.leaseTimeToLive(key) == .expires(in: .seconds(86_400)))

        let leasesBefore = server.withStore { $0.leaseCount }
        let other = LeaseAttributes(publicIP: IPv4Address(10, 12, 10, 193))
        #expect(try await registry.createLease(key, attributes: other, ttl: .seconds(86_400)) == nil)
        // The lost race revoked its grant instead of leaking it.
        #expect(server.withStore { $0.leaseCount } == leasesBefore)
    }

    @Test func listingParsesSortsAndReportsMalformedEntries() async throws {
        try server.withStore { etcd in
            _ = try etcd.put(key: "/flannel-test/network/subnets/10.1.71.0-24", value: #"{"PublicIP":"10.12.10.193"}"#)
            _ = try etcd.put(key: "/flannel-test/network/subnets/10.1.33.0-24", value: #"{"PublicIP":"10.12.10.201"}"#)
            _ = try etcd.put(key: "/flannel-test/network/subnets/not-a-subnet", value: #"{"PublicIP":"10.12.10.1"}"#)
            _ = try etcd.put(key: "/flannel-test/network/subnets/10.1.5.0-24", value: "garbage")
            _ = try etcd.put(key: "/flannel-test/network/subnetsX/10.1.6.0-24", value: #"{"PublicIP":"10.12.10.2"}"#)
        }
        let listing = try await registry.listLeases()
        #expect(listing.records.map(\.key.description) == ["10.1.33.0-24", "10.1.71.0-24"])
        #expect(listing.records.allSatisfy { $0.isReservation })
        #expect(listing.malformed.map(\.key) == ["/flannel-test/network/subnets/10.1.5.0-24", "/flannel-test/network/subnets/not-a-subnet"])
        #expect(listing.revision == 6)
    }

    @Test func renewOnlyRewritesOurOwnKey() async throws {
        let key = Fixtures.key("10.1.82.0/24")
        let created = try #require(try await registry.createLease(key, attributes: me, ttl: .seconds(60)))
        guard case let .updated(renewed) = try await registry.updateLease(key, attributes: me, ttl: .seconds(60), expectedModRevision: created) else {
            Issue.record("renewal failed")
            return
        }
        #expect(renewed > created)

        // An operator rewrote our value by hand: still ours, renewal follows the new revision.
        _ = try server.withStore { try $0.put(key: layout.leaseKey(key), value: me.encoded) }
        guard case .updated = try await registry.updateLease(key, attributes: me, ttl: .seconds(60), expectedModRevision: renewed) else {
            Issue.record("renewal after a manual rewrite failed")
            return
        }

        // Another host's value: never overwritten.
        let thief = LeaseAttributes(publicIP: IPv4Address(10, 12, 10, 9))
        _ = try server.withStore { try $0.put(key: layout.leaseKey(key), value: thief.encoded) }
        #expect(try await registry.updateLease(key, attributes: me, ttl: .seconds(60), expectedModRevision: renewed) == .heldByOther(thief))
        #expect(server.withStore { $0.range(key: layout.leaseKey(key)).kvs.first?.value } == thief.encoded)

        // Gone: not resurrected by the renewal.
        _ = server.withStore { $0.delete(key: layout.leaseKey(key)) }
        #expect(try await registry.updateLease(key, attributes: me, ttl: .seconds(60), expectedModRevision: renewed) == .missing)
        #expect(server.withStore { $0.range(key: layout.leaseKey(key)).kvs.isEmpty })
    }

    @Test func aReservationStaysAReservation() async throws {
        let key = Fixtures.key("10.1.7.0/24")
        let revision = try server.withStore { try $0.put(key: layout.leaseKey(key), value: me.encoded) }
        let outcome = try await registry.updateLease(key, attributes: me, ttl: nil, expectedModRevision: revision)
        guard case .updated = outcome else {
            Issue.record("reservation update failed: \(outcome)")
            return
        }
        #expect(server.withStore { $0.range(key: layout.leaseKey(key)).kvs.first?.lease } == 0)
        #expect(try await registry.leaseTimeToLive(key) == .reservation)
        #expect(try await registry.leaseTimeToLive(Fixtures.key("10.1.8.0/24")) == .absent)
    }

    @Test func expiryShowsUpAsADeleteOnTheWatch() async throws {
        let key = Fixtures.key("10.1.82.0/24")
        let revision = try #require(try await registry.createLease(key, attributes: me, ttl: .seconds(10)))
        var events = registry.watchLeases(after: revision).makeAsyncIterator()
        server.advanceTime(by: .seconds(10))
        let batch = try await events.next()
        #expect(batch == LeaseEventBatch(events: [.delete(key)], revision: revision + 1))
    }

    @Test func watchFromACompactedRevisionFailsWithTheCompactRevision() async throws {
        for subnet in ["10.1.1.0/24", "10.1.2.0/24", "10.1.3.0/24"] {
            _ = try await registry.createLease(Fixtures.key(subnet), attributes: me, ttl: .seconds(60))
        }
        try server.withStore { try $0.compact(4) }
        var events = registry.watchLeases(after: 1).makeAsyncIterator()
        await #expect(throws: EtcdError.compacted(compactRevision: 4)) { _ = try await events.next() }
        // Re-listing gives the revision to resume after.
        let listing = try await registry.listLeases()
        #expect(listing.revision == 4)
        #expect(listing.records.count == 3)
    }

    /// A create or renew that committed but whose answer was lost (timeout, dropped
    /// connection) is repeated by the client, possibly on another endpoint: the repeat must
    /// recognise its own write instead of revoking the lease it just attached.
    @Test func aRepeatedCreateOrRenewRecognisesItsOwnEarlierWrite() throws {
        var etcd = InMemoryEtcd()
        let key = Fixtures.key("10.1.82.0/24")
        let lease = try etcd.grantLease(ttl: 60)
        let create = LeaseOperations.createRequest(key, attributes: me, lease: lease, layout: layout)
        let first = try etcd.txn(compare: create.compare, success: create.success, failure: create.failure)
        let repeated = try etcd.txn(compare: create.compare, success: create.success, failure: create.failure)
        #expect(LeaseOperations.interpretCreate(first, lease: lease) == first.revision)
        #expect(LeaseOperations.interpretCreate(repeated, lease: lease) == first.revision)
        // Another host's attempt with its own lease is a lost race.
        let theirs = try etcd.grantLease(ttl: 60)
        let other = LeaseOperations.createRequest(key, attributes: me, lease: theirs, layout: layout)
        #expect(LeaseOperations.interpretCreate(try etcd.txn(compare: other.compare, success: other.success, failure: other.failure), lease: theirs) == nil)

        let renewLease = try etcd.grantLease(ttl: 60)
        let renew = LeaseOperations.updateRequest(key, attributes: me, lease: renewLease, expectedModRevision: first.revision, layout: layout)
        let renewed = try etcd.txn(compare: renew.compare, success: renew.success, failure: renew.failure)
        let again = try etcd.txn(compare: renew.compare, success: renew.success, failure: renew.failure)
        #expect(LeaseOperations.interpretUpdate(again, attributes: me, lease: renewLease, layout: layout)
            == .finished(.updated(modRevision: renewed.revision)))
    }

    @Test func deleteRemovesTheLease() async throws {
        let key = Fixtures.key("10.1.82.0/24")
        let revision = try #require(try await registry.createLease(key, attributes: me, ttl: .seconds(60)))
        // Rewritten by another host since we listed it: not ours to delete.
        let other = LeaseAttributes(publicIP: IPv4Address(10, 12, 10, 9))
        _ = try server.withStore { try $0.put(key: layout.leaseKey(key), value: other.encoded) }
        try await registry.deleteLease(key, expectedModRevision: revision)
        #expect(try await registry.listLeases().records.map(\.attributes) == [other])
        let current = try await registry.listLeases().records[0].modRevision
        try await registry.deleteLease(key, expectedModRevision: current)
        #expect(try await registry.listLeases().records.isEmpty)
    }
}
