import Agent
import Foundation
import NetnsLab
import Sim
import Testing

/// The in-memory etcd's revision, version and lease rules checked against a real etcd
/// process (Debian's etcd-server), through etcdctl. The full contract suite over gRPC comes
/// with the real-etcd client; these are the semantics the lease logic already relies on.
@Suite("In-memory etcd agrees with real etcd", .serialized, .enabled(if: LabGate.shouldRun))
struct RealEtcdSemanticsTests {
    /// (key, value, create revision, mod revision, version) of every key under a prefix,
    /// and the header revision.
    struct Snapshot: Equatable, CustomStringConvertible {
        var revision: Int64
        var kvs: [[String]]
        var description: String { "rev \(revision) \(kvs)" }
    }

    static func snapshot(_ etcd: EtcdProcess, prefix: String) throws -> Snapshot {
        let output = try etcd.etcdctl(["-w", "json", "get", prefix, "--prefix"]).stdout
        let document = try JSONParser.parse(output.trimmingCharacters(in: .whitespacesAndNewlines))
        let revision = Int64(document.member("header")?.member("revision")?.integerValue ?? -1)
        var kvs: [[String]] = []
        if case let .array(items)? = document.member("kvs") {
            for item in items {
                func text(_ name: String) -> String {
                    guard let encoded = item.member(name)?.stringValue, let data = Data(base64Encoded: encoded) else { return "" }
                    return String(decoding: data, as: UTF8.self)
                }
                func number(_ name: String) -> String { String(item.member(name)?.integerValue ?? 0) }
                kvs.append([text("key"), text("value"), number("create_revision"), number("mod_revision"), number("version")])
            }
        }
        return Snapshot(revision: revision, kvs: kvs)
    }

    static func snapshot(_ etcd: InMemoryEtcd, prefix: String) -> Snapshot {
        let result = etcd.range(prefix: prefix)
        return Snapshot(revision: result.revision, kvs: result.kvs.map {
            [$0.key, $0.value, String($0.createRevision), String($0.modRevision), String($0.version)]
        })
    }

    @Test func revisionsAndVersionsMatchOperationByOperation() throws {
        guard LabGate.requireRoot() else { return }
        let real = try EtcdProcess()
        defer { real.remove() }
        var fake = InMemoryEtcd()
        let prefix = "/flannel-test/network/subnets/"
        let steps: [(String, [String])] = [
            ("put", [prefix + "10.1.82.0-24", #"{"PublicIP":"10.12.10.200"}"#]),
            ("put", [prefix + "10.1.33.0-24", #"{"PublicIP":"10.12.10.201"}"#]),
            ("put", [prefix + "10.1.82.0-24", #"{"PublicIP":"10.12.10.200","PublicIPv6":null}"#]),
            ("del", [prefix + "10.1.82.0-24"]),
            ("del", [prefix + "10.1.99.0-24"]),
            ("put", [prefix + "10.1.82.0-24", #"{"PublicIP":"10.12.10.193"}"#]),
            ("put", ["/elsewhere", "x"]),
        ]
        #expect(try Self.snapshot(real, prefix: prefix) == Self.snapshot(fake, prefix: prefix))
        for (verb, arguments) in steps {
            try real.etcdctl([verb] + arguments)
            if verb == "put" {
                _ = try fake.put(key: arguments[0], value: arguments[1])
            } else {
                _ = fake.delete(key: arguments[0])
            }
            #expect(try Self.snapshot(real, prefix: prefix) == Self.snapshot(fake, prefix: prefix), "after \(verb) \(arguments[0])")
        }
    }

    @Test func leaseExpiryDeletesTheKeyAndTinyTTLsAreRaisedToTheMinimum() throws {
        guard LabGate.requireRoot() else { return }
        let real = try EtcdProcess()
        defer { real.remove() }
        // etcdctl prints "lease 694d7a... granted with TTL(2s)".
        let grant = try real.etcdctl(["lease", "grant", "1"]).stdout
        #expect(grant.contains("TTL(\(InMemoryEtcd.minimumLeaseTTL)s)"), "etcd said: \(grant)")
        let leaseID = try #require(grant.split(separator: " ").dropFirst().first.map(String.init))
        try real.etcdctl(["put", "--lease=\(leaseID)", "/n/subnets/10.1.5.0-24", "v"])
        let before = try Self.snapshot(real, prefix: "/n/")
        #expect(before.kvs.count == 1)

        try Poll.until("the leased key to expire", timeout: .seconds(15), interval: .milliseconds(100)) {
            try Self.snapshot(real, prefix: "/n/").kvs.isEmpty
        }
        // The expiry is one write: the revision moved by exactly one, as in the fake.
        #expect(try Self.snapshot(real, prefix: "/n/").revision == before.revision + 1)

        var fake = InMemoryEtcd()
        let fakeLease = try fake.grantLease(ttl: 1)
        _ = try fake.put(key: "/n/subnets/10.1.5.0-24", value: "v", lease: fakeLease)
        let fakeBefore = fake.revision
        fake.advanceTime(to: .seconds(InMemoryEtcd.minimumLeaseTTL))
        #expect(fake.range(prefix: "/n/").kvs.isEmpty)
        #expect(fake.revision == fakeBefore + 1)
    }
}
