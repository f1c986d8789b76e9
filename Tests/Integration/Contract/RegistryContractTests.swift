import Agent
import Foundation
import NetnsLab
import Testing

/// flannel's registry operations against a real etcd 3.4 through both APIs: v3 (gRPC) and
/// v2 (HTTP keys API, `--enable-v2`). The agent above them must not be able to tell.
@Suite("registry contract (real etcd, v3 and v2)", .serialized, .enabled(if: LabGate.shouldRun))
struct RegistryContractTests {
    enum API: String, CaseIterable, Sendable, CustomStringConvertible {
        case v3, v2
        var description: String { "etcd \(rawValue) API" }
    }

    /// A real etcd serving both APIs, and a registry on `api`.
    final class World: Sendable {
        let etcd: EtcdProcess
        let registry: any Registry
        let api: API
        private let v3: EtcdV3Client?
        private let v2: EtcdV2Client?
        static let layout = EtcdKeyLayout(prefix: "/flannel-test/network")

        init(_ api: API, username: String? = nil, password: String? = nil, etcd existing: EtcdProcess? = nil) throws {
            self.api = api
            etcd = try existing ?? EtcdProcess(options: .init(enableV2: true))
            let configuration = EtcdClientConfiguration(endpoints: [try EtcdEndpoint.parse(etcd.clientURL)], username: username,
                                                        password: password, requestTimeout: .seconds(5))
            switch api {
            case .v3:
                let client = try EtcdV3Client(configuration: configuration)
                (v3, v2) = (client, nil)
                registry = EtcdRegistry(kv: client, layout: Self.layout)
            case .v2:
                let client = try EtcdV2Client(configuration: configuration)
                (v3, v2) = (nil, client)
                registry = EtcdV2Registry(client: client, layout: Self.layout)
            }
        }

        /// Writes `value` at `key` the way an operator would with this API's etcdctl.
        func put(_ key: String, _ value: String, ttl: Int? = nil) throws {
            switch api {
            case .v3:
                var arguments = ["put", key, value]
                if let ttl {
                    let grant = try etcd.etcdctl(["lease", "grant", "\(ttl)"]).stdout
                    let id = grant.split(separator: " ")[1]
                    arguments += ["--lease=\(id)"]
                }
                try etcd.etcdctl(arguments)
            case .v2:
                try CommandRunner.check(["etcdctl", "--endpoints", etcd.clientURL, "set", key, value] + (ttl.map { ["--ttl", "\($0)"] } ?? []),
                                        environment: ["ETCDCTL_API": "2"])
            }
        }

        func close(removingEtcd: Bool = true) async {
            await v3?.close()
            await v2?.close()
            if removingEtcd { etcd.remove() }
        }
    }

    let me = LeaseAttributes(publicIP: IPv4Address(10, 12, 10, 200))
    let other = LeaseAttributes(publicIP: IPv4Address(10, 12, 10, 193))
    let key = SubnetKey(IPv4Network("10.1.82.0/24")!)
    let peerKey = SubnetKey(IPv4Network("10.1.71.0/24")!)

    @Test(arguments: API.allCases)
    func leasesAreCreatedRenewedListedAndDeletedOnlyWhileOurs(_ api: API) async throws {
        guard LabGate.requireRoot() else { return }
        let world = try World(api)
        let registry = world.registry
        #expect(try await registry.networkConfig() == nil)
        try world.put(World.layout.configKey, #"{ "Network": "10.1.0.0/16" }"#)
        #expect(try await registry.networkConfig() == #"{ "Network": "10.1.0.0/16" }"#)

        let created = try #require(try await registry.createLease(key, attributes: me, ttl: .seconds(60)))
        #expect(try await registry.createLease(key, attributes: other, ttl: .seconds(60)) == nil, "a taken subnet is a lost race")
        guard case let .updated(renewed) = try await registry.updateLease(key, attributes: me, ttl: .seconds(60), expectedModRevision: created) else {
            Issue.record("renewal failed on \(api)")
            return
        }
        #expect(renewed > created)
        guard case let .expires(remaining) = try await registry.leaseTimeToLive(key) else {
            Issue.record("no TTL on \(api)")
            return
        }
        #expect(remaining <= .seconds(60) && remaining >= .seconds(55))

        // A reservation (no TTL) naming a peer, written by an operator.
        try world.put(World.layout.leaseKey(peerKey), other.encoded)
        let listing = try await registry.listLeases()
        #expect(listing.records.map(\.key) == [peerKey, key])
        #expect(listing.records.map(\.isReservation) == [true, false])
        #expect(listing.records.last?.modRevision == renewed)
        #expect(listing.revision >= renewed)
        #expect(try await registry.leaseTimeToLive(peerKey) == .reservation)
        // Its owner renews a reservation without a TTL, and it stays one.
        let reservation = try #require(listing.records.first)
        guard case .updated = try await registry.updateLease(peerKey, attributes: other, ttl: nil, expectedModRevision: reservation.modRevision) else {
            Issue.record("renewing the reservation failed on \(api)")
            return
        }
        #expect(try await registry.leaseTimeToLive(peerKey) == .reservation)
        #expect(try await registry.listLeases().records.first?.isReservation == true)

        // Renewing a key that is someone else's now, or gone, never writes it.
        try world.put(World.layout.leaseKey(key), other.encoded, ttl: 60)
        #expect(try await registry.updateLease(key, attributes: me, ttl: .seconds(60), expectedModRevision: renewed) == .heldByOther(other))
        try await registry.deleteLease(key, expectedModRevision: renewed)
        #expect(try await registry.listLeases().records.count == 2, "a delete at our old revision must not remove the peer's value")
        let current = try #require(try await registry.listLeases().records.first { $0.key == key })
        try await registry.deleteLease(key, expectedModRevision: current.modRevision)
        #expect(try await registry.listLeases().records.map(\.key) == [peerKey])
        #expect(try await registry.updateLease(key, attributes: me, ttl: .seconds(60), expectedModRevision: current.modRevision) == .missing)
        #expect(try await registry.leaseTimeToLive(key) == .absent)
        await world.close()
    }

    @Test(arguments: API.allCases)
    func theWatchSeesWritesDeletesAndExpiriesAfterTheListing(_ api: API) async throws {
        guard LabGate.requireRoot() else { return }
        let world = try World(api)
        let registry = world.registry
        let start = try await registry.listLeases()
        let stream = registry.watchLeases(after: start.revision)
        let created = try #require(try await registry.createLease(key, attributes: me, ttl: .seconds(60)))
        try world.put(World.layout.leaseKey(peerKey), other.encoded, ttl: 2)
        let (seen, revisions) = try await withDeadline(.seconds(20), waitingFor: "three lease events on \(api)") {
            var seen: [LeaseEvent] = []
            var revisions: [Int64] = []
            for try await batch in stream {
                seen += batch.events
                revisions.append(batch.revision)
                if seen.count >= 3 { break }
            }
            return (seen, revisions)
        }
        #expect(revisions.first == created && revisions == revisions.sorted())
        guard seen.count == 3, case let .put(mine) = seen[0], case let .put(peer) = seen[1] else {
            Issue.record("\(api): \(seen)")
            return
        }
        #expect(mine.key == key && mine.attributes == me && !mine.isReservation)
        #expect(peer.key == peerKey && peer.attributes.publicIP == other.publicIP)
        #expect(seen[2] == .delete(peerKey), "the peer's key expired")
        await world.close()
    }

    /// A watch from a revision etcd no longer has ends with `compacted`: the agent re-lists.
    @Test(arguments: API.allCases)
    func aWatchFromForgottenHistoryAsksForARelisting(_ api: API) async throws {
        guard LabGate.requireRoot() else { return }
        let world = try World(api)
        let registry = world.registry
        let start = try await registry.listLeases().revision
        switch api {
        case .v3:
            try world.put(World.layout.leaseKey(peerKey), other.encoded)
            try world.put(World.layout.leaseKey(peerKey), me.encoded)
            let revision = try await registry.listLeases().revision
            try world.etcd.etcdctl(["compact", "\(revision)"])
        case .v2:
            // v2 keeps the last 1,000 events.
            let writer = try EtcdV2Client(configuration: EtcdClientConfiguration(endpoints: [try EtcdEndpoint.parse(world.etcd.clientURL)]))
            for number in 0..<1010 { _ = try await writer.request(.PUT, key: "/flannel-test/churn", form: [("value", "\(number)")]) }
            await writer.close()
        }
        let stream = registry.watchLeases(after: start)
        await #expect {
            try await withDeadline(.seconds(15), waitingFor: "the watch to fail on \(api)") {
                for try await _ in stream {}
            }
        } throws: { error in
            if case .compacted? = error as? EtcdError { return true }
            return false
        }
        await world.close()
    }

    /// v2 users and roles as in the walkthrough: allowed under the role's path, refused
    /// elsewhere and with a wrong password, with a message that says what to check.
    @Test func aV2UserLimitedToThePrefixIsRefusedOutsideIt() async throws {
        guard LabGate.requireRoot() else { return }
        let etcd = try EtcdProcess(options: .init(enableV2: true))
        defer { etcd.remove() }
        func etcdctl(_ arguments: [String], root: Bool = false) throws {
            try CommandRunner.check(["etcdctl", "--endpoints", etcd.clientURL] + (root ? ["--username", "root:root-secret"] : []) + arguments,
                                    environment: ["ETCDCTL_API": "2"])
        }
        try etcdctl(["set", "/flannel-test/network/config", #"{ "Network": "10.1.0.0/16" }"#])
        try etcdctl(["user", "add", "root:root-secret"])
        try etcdctl(["user", "add", "flannel-test:mypassword"])
        try etcdctl(["role", "add", "role-flannel"])
        try etcdctl(["role", "grant", "role-flannel", "-path", "/flannel-test/*", "-readwrite"])
        try etcdctl(["user", "grant", "flannel-test", "-roles", "role-flannel"])
        try etcdctl(["auth", "enable"])
        // v2's guest role may read and write everything unless revoked; the walkthrough's
        // isolation needs that too.
        try etcdctl(["role", "revoke", "guest", "-path", "/*", "-readwrite"], root: true)

        let allowed = try World(.v2, username: "flannel-test", password: "mypassword", etcd: etcd)
        #expect(try await allowed.registry.networkConfig() != nil)
        #expect(try await allowed.registry.createLease(key, attributes: me, ttl: .seconds(60)) != nil)
        let elsewhere = EtcdV2Registry(client: try EtcdV2Client(configuration: EtcdClientConfiguration(
            endpoints: [try EtcdEndpoint.parse(etcd.clientURL)], username: "flannel-test", password: "mypassword")),
            layout: EtcdKeyLayout())
        await #expect {
            _ = try await elsewhere.networkConfig()
        } throws: { error in
            guard case let .v2AccessRefused(key, user)? = error as? EtcdError else { return false }
            return key == "/coreos.com/network/config" && user == "flannel-test"
        }
        let wrong = try World(.v2, username: "flannel-test", password: "wrong", etcd: etcd)
        await #expect {
            _ = try await wrong.registry.networkConfig()
        } throws: { error in
            guard case let .v2AccessRefused(key, user)? = error as? EtcdError else { return false }
            return key == "/flannel-test/network/config" && user == "flannel-test"
        }
        await elsewhere.client.close()
        await allowed.close(removingEtcd: false)
        await wrong.close(removingEtcd: false)
    }
}
