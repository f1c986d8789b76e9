import Agent
import ClusterScenarios
import Foundation

/// The lab as a `ClusterHarness`: the shared scenarios on real namespaces, a real etcd and
/// real flanneld processes, in real time, with the lab's own extras (`/metrics`, iperf3, the
/// agents' log files).
public final class LabCluster: ClusterHarness {
    public let lab: Lab
    public let flanneld: String
    /// The scenario's etcd is the v2 API: config and leases in the v2 store, agents on `--etcd-api=v2`.
    public let etcdV2: Bool
    private var labHosts: [Int: LabHost] = [:]
    /// Where each host's current agent run starts in its log, in bytes (the log keeps every run).
    private var logStart: [Int: Int] = [:]
    private var containerNamespaces: [ClusterContainer: Namespace] = [:]
    private var pingSeries: [Int: BackgroundPing] = [:]
    private var nextSeriesToken = 1
    static let prefix = "/coreos.com/network/"
    /// `--healthz-port` of every agent (each host has its own namespace).
    static let healthzPort = 18_080

    public init(lab: Lab, flanneld: String, etcdV2: Bool = false) {
        self.lab = lab
        self.flanneld = flanneld
        self.etcdV2 = etcdV2
    }

    public var kind: ClusterWorld { .lab }
    public var capabilities: Set<ClusterCapability> { [.metrics, .iperf3, .logFiles] }

    /// Builds a lab, runs `scenario`, removes the lab (also when a step fails).
    public static func run(_ scenario: Scenario, flanneld: String, names: LabNames = LabNames(),
                           progress: @escaping (String) -> Void = { _ in }) -> ScenarioReport {
        let clock = ContinuousClock()
        let start = clock.now
        var report: ScenarioReport
        do {
            // Every scenario's hosts have an IPv6 underlay too, as the simulator's do; only
            // dual-stack configs use it.
            let lab = try Lab(names: names, enableV2: scenario.etcd.v2, ipv6: true, etcdMembers: scenario.etcd.members)
            defer { lab.destroy() }
            let cluster = LabCluster(lab: lab, flanneld: flanneld, etcdV2: scenario.etcd.v2)
            report = scenario.run(on: cluster, progress: progress)
            if !report.passed {
                report.diagnostics = ["agent logs (last lines):"] + lab.hosts.compactMap { host in
                    host.agent.map { "  \(host.namespace): " + $0.log.split(separator: "\n").suffix(12).joined(separator: "\n    ") }
                }
            }
        } catch {
            report = ScenarioReport(id: scenario.id, name: scenario.name, summary: scenario.summary, world: .lab)
            report.error = "the lab could not be built: \(error)"
        }
        report.duration = clock.now - start
        return report
    }

    func labHost(_ host: ClusterHost) throws -> LabHost {
        guard let labHost = labHosts[host.index] else { throw ScenarioFailure("\(host) is not in this lab") }
        return labHost
    }

    func namespace(of container: ClusterContainer) throws -> Namespace {
        guard let namespace = containerNamespaces[container] else { throw ScenarioFailure("\(container) is not in this lab") }
        return namespace
    }

    func setNamespace(_ namespace: Namespace?, of container: ClusterContainer) {
        containerNamespaces[container] = namespace
    }

    func nextToken() -> Int {
        defer { nextSeriesToken += 1 }
        return nextSeriesToken
    }

    func series(_ token: Int) throws -> BackgroundPing {
        guard let ping = pingSeries[token] else { throw ScenarioFailure("no such ping series") }
        return ping
    }

    func setSeries(_ ping: BackgroundPing?, token: Int) {
        pingSeries[token] = ping
    }

    // MARK: etcd

    public func writeConfig(_ json: String) throws {
        try putKey("config", json)
    }

    public func putKey(_ relativeKey: String, _ value: String) throws {
        if etcdV2 {
            try CommandRunner.check(lab.etcdctlV2Command(["set", Self.prefix + relativeKey, value]))
        } else {
            try lab.etcdctl(["put", Self.prefix + relativeKey, value])
        }
    }

    /// Small values in transactions of 128 (etcd's limit), large ones one by one from a file
    /// (an argument, or a line etcdctl's txn reads, is bounded), all in one shell in etcd's
    /// namespace.
    public func putKeys(_ entries: [(key: String, value: String)]) throws {
        let folder = lab.directory.appendingPathComponent("keys-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let small = entries.filter { $0.value.utf8.count <= 4_096 }
        var files = 0
        for start in stride(from: 0, to: small.count, by: 128) {
            var text = "\n"
            for entry in small[start..<min(start + 128, small.count)] {
                text += "put \(Self.goQuoted(Self.prefix + entry.key)) \(Self.goQuoted(entry.value))\n"
            }
            try (text + "\n\n").write(to: folder.appendingPathComponent(String(format: "%05d.txn", files)), atomically: true, encoding: .utf8)
            files += 1
        }
        var large: [String] = []
        for (index, entry) in entries.enumerated() where entry.value.utf8.count > 4_096 {
            let file = folder.appendingPathComponent("value-\(index)")
            try entry.value.write(to: file, atomically: true, encoding: .utf8)
            large.append("\(etcdctlShell) put \((Self.prefix + entry.key).shellQuoted) < \(file.path.shellQuoted) > /dev/null")
        }
        let script = "set -e\nfor f in \"$1\"/*.txn; do [ -e \"$f\" ] || continue; \(etcdctlShell) txn < \"$f\" > /dev/null; done\n"
            + large.joined(separator: "\n")
        try CommandRunner.check(lab.etcdNamespace.command(["sh", "-c", script, "put-keys", folder.path]))
    }

    private var etcdctlShell: String { "ETCDCTL_API=3 etcdctl --endpoints \(lab.etcdEndpoint)" }

    /// A Go string literal, as etcdctl's txn reader unquotes its arguments.
    static func goQuoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    public func deleteKey(_ relativeKey: String) throws {
        if etcdV2 {
            try CommandRunner.check(lab.etcdctlV2Command(["rm", Self.prefix + relativeKey]))
        } else {
            try lab.etcdctl(["del", Self.prefix + relativeKey])
        }
    }

    /// From `etcdctl get -w json`: keys and values are base64.
    public func leases() throws -> [ClusterLease] {
        if etcdV2 { return try v2Leases() }
        let json = try JSONParser.parse(try lab.etcdctl(["get", "--prefix", Self.prefix + "subnets/", "--write-out=json"]).stdout)
        guard case let .array(kvs)? = json.member("kvs") else { return [] }
        return kvs.compactMap { kv -> ClusterLease? in
            guard let key = kv.member("key")?.stringValue.flatMap(Self.base64), let slash = key.lastIndex(of: "/"),
                  let key = try? SubnetKey(parsing: String(key[key.index(after: slash)...])), let subnet = key.ipv4 else { return nil }
            let value = kv.member("value")?.stringValue.flatMap(Self.base64) ?? ""
            return ClusterLease(subnet: subnet, attributes: try? LeaseAttributes.decode(value),
                                hasTTL: (kv.member("lease")?.integerValue ?? 0) != 0,
                                createRevision: Int64(kv.member("create_revision")?.integerValue ?? 0),
                                modRevision: Int64(kv.member("mod_revision")?.integerValue ?? 0))
        }
    }

    static func base64(_ text: String) -> String? {
        Data(base64Encoded: text).flatMap { String(data: $0, encoding: .utf8) }
    }

    public func etcdRevision() throws -> Int64 { etcdV2 ? try v2Index() : try lab.etcdRevision() }

    public func compactEtcd() throws { try lab.compactEtcd() }

    public func stopEtcd() throws { lab.stopEtcd() }
    public func startEtcd() throws { try lab.startEtcd() }

    // MARK: Hosts and agents

    public func addHost() throws -> ClusterHost {
        let labHost = try lab.addHost(labHosts.count + 1)
        labHosts[labHost.index] = labHost
        return ClusterHost(index: labHost.index, publicIP: labHost.address,
                           publicIPv6: lab.ipv6 ? Lab.ipv6Address(ofHost: labHost.index) : nil)
    }

    public func startAgent(on host: ClusterHost, _ settings: AgentSettings) throws {
        let labHost = try labHost(host)
        logStart[host.index] = labHost.agent?.log.utf8.count ?? 0
        var arguments = ["--healthz-port=\(Self.healthzPort)"]
        if let ttl = settings.leaseTTLText { arguments.append("--subnet-lease-ttl=\(ttl)") }
        if etcdV2 { arguments.append("--etcd-api=v2") }
        try labHost.startAgent(binary: flanneld, arguments: arguments)
    }

    public func stopAgent(on host: ClusterHost) throws -> Int32? {
        let labHost = try labHost(host)
        labHost.stopAgent()
        return labHost.agent?.exitStatus
    }

    public func agentIsRunning(on host: ClusterHost) -> Bool {
        labHosts[host.index]?.agent?.isRunning == true
    }

    public func subnetFile(of host: ClusterHost) throws -> SubnetFile? {
        guard let text = try? String(contentsOfFile: try labHost(host).subnetFilePath, encoding: .utf8) else { return nil }
        return try? SubnetFile.parse(text)
    }

    /// From the current run's log: the peer's last line says added or changed, not removed.
    public func knowsPeer(_ subnet: IPv4Network, on host: ClusterHost) throws -> Bool {
        guard agentIsRunning(on: host) else { return false }
        let log = try labHost(host).agent?.log ?? ""
        let current = String(decoding: log.utf8.dropFirst(logStart[host.index] ?? 0), as: UTF8.self)
        let added = current.range(of: "peer added: \(subnet) ", options: .backwards)?.lowerBound
        let changed = current.range(of: "→ \(subnet) via", options: .backwards)?.lowerBound
        let removed = current.range(of: "peer removed: \(subnet) ", options: .backwards)?.lowerBound
        guard let seen = [added, changed].compactMap({ $0 }).max() else { return false }
        return removed.map { seen > $0 } ?? true
    }

    public func drifts(of host: ClusterHost) throws -> [ClusterDrift] {
        let marker = "SUBNET CHANGED: this host had "
        return try lines(of: host).compactMap { line in
            guard let range = line.range(of: marker) else { return nil }
            let words = line[range.upperBound...].split(separator: " ")
            guard words.count >= 5, let from = IPv4Network(String(words[0].trimmingCharacters(in: CharacterSet(charactersIn: ",")))),
                  let to = IPv4Network(String(words[4].trimmingCharacters(in: CharacterSet(charactersIn: ",.;")))) else { return nil }
            return ClusterDrift(from: from, to: to)
        }
    }

    func lines(of host: ClusterHost) throws -> [Substring] {
        (try labHost(host).agent?.log ?? "").split(separator: "\n")
    }

    public func logCount(_ text: String, on host: ClusterHost) throws -> Int {
        try lines(of: host).filter { $0.contains(text) }.count
    }

    public func metrics(of host: ClusterHost) throws -> String {
        try labHost(host).metrics(port: Self.healthzPort)
    }

    public func logLineCount(on host: ClusterHost) throws -> Int { try lines(of: host).count }
    public func failedEtcdRequests() throws -> Int { throw ScenarioFailure("the lab has no count of failed etcd requests") }
    public func underlayCapture() throws -> [String] { throw ScenarioFailure("the lab has no underlay capture in scenarios (netns-lab capture has one)") }
}
