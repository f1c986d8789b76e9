import Agent
import Foundation

/// etcd as the binary under test uses it: the v3 API, or the v2 API for 0.7.0. Keys are
/// relative to `/coreos.com/network/`.
struct ConformanceEtcd {
    let lab: Lab
    let v2: Bool
    static let prefix = "/coreos.com/network/"

    func put(_ key: String, _ value: String) throws {
        if v2 {
            try CommandRunner.check(lab.etcdctlV2Command(["set", Self.prefix + key, value]))
        } else {
            try lab.etcdctl(["put", Self.prefix + key, value])
        }
    }

    /// All at once: one v3 transaction (one revision, one watch response); with v2, which has
    /// no transactions, back to back from one shell.
    func putAll(_ entries: [(key: String, value: String)]) throws {
        let file = lab.directory.appendingPathComponent("put-all-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: file) }
        if v2 {
            let lines = entries.map { entry in
                (lab.etcdctlV2Command(["set", Self.prefix + entry.key, entry.value]).map(\.shellQuoted)).joined(separator: " ") + " > /dev/null"
            }
            try ("set -e\n" + lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
            try CommandRunner.check(["sh", file.path])
        } else {
            let puts = entries.map { "put \(LabCluster.goQuoted(Self.prefix + $0.key)) \(LabCluster.goQuoted($0.value))" }
            try ("\n" + puts.joined(separator: "\n") + "\n\n\n").write(to: file, atomically: true, encoding: .utf8)
            try CommandRunner.check(lab.etcdNamespace.command(["sh", "-c", "ETCDCTL_API=3 etcdctl --endpoints \(lab.etcdEndpoint) txn < \"$1\"", "txn", file.path]))
        }
    }

    func delete(_ key: String) throws {
        if v2 {
            try CommandRunner.check(lab.etcdctlV2Command(["rm", Self.prefix + key]))
        } else {
            try lab.etcdctl(["del", Self.prefix + key])
        }
    }

    /// The value, or nil when the key does not exist.
    func get(_ key: String) throws -> String? {
        if v2 {
            let result = try CommandRunner.run(lab.etcdctlV2Command(["get", Self.prefix + key]))
            return result.succeeded ? result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
        }
        let output = try lab.etcdctl(["get", Self.prefix + key, "--print-value-only"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return output.isEmpty ? nil : output
    }

    /// The relative keys under `subnets/`.
    func leaseKeys() throws -> [String] {
        let output = v2 ? try CommandRunner.run(lab.etcdctlV2Command(["ls", Self.prefix + "subnets"])).stdout
            : try lab.etcdctl(["get", "--prefix", Self.prefix + "subnets/", "--keys-only"]).stdout
        return output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .map { String($0.dropFirst(Self.prefix.count)) }.sorted()
    }

    /// The key's expiry as etcd shows it ("a lease granted with TTL(…)" for v3, "TTL: …" for
    /// v2), or nil when it has none, as a reservation.
    func expiry(_ key: String) throws -> String? {
        if v2 {
            let shown = try CommandRunner.check(lab.etcdctlV2Command(["-o", "extended", "get", Self.prefix + key])).stdout
            let ttl = shown.split(separator: "\n").first { $0.hasPrefix("TTL: ") }.flatMap { Int($0.dropFirst(5)) } ?? 0
            return ttl > 0 ? "TTL: \(ttl)" : nil
        }
        let shown = try lab.etcdctl(["get", Self.prefix + key, "-w", "json"]).stdout
        guard case let .array(kvs)? = try JSONParser.parse(shown).member("kvs"), let lease = kvs.first?.member("lease")?.integerValue,
              lease != 0 else { return nil }
        let granted = (try? lab.etcdctl(["lease", "timetolive", String(lease, radix: 16)]).stdout) ?? ""
        return "a lease " + (granted.range(of: "granted with ").map { String(granted[$0.upperBound...]) } ?? "\(lease)")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
