import Agent
import Foundation

/// S16, rolling migration: a cluster running upstream flannel (0.7.0 on etcd's v2 API, or
/// 0.20.2 on v3) is moved to our agent one host at a time while every container pings the
/// next one, then one host is moved back. Per swap: no host's subnet changes, etcd holds
/// exactly one lease per host, and the longest ping silence is measured.
///
/// Upstream agents start one after another, each once the previous one holds its lease; then
/// each but the last is restarted once, in order, waiting for its subnet.env: an agent of
/// 0.20.2 can miss a lease created while it opens its watch (COMPAT.md, `netns-lab
/// conformance`'s watch-burst), and a restart lists every lease, so the migration starts from a
/// converged cluster whatever the watches missed.
public struct RollingMigration {
    public var upstream: String
    public var ours: String
    /// 0.7.0 speaks etcd's v2 API only.
    public var etcdV2: Bool
    public var backend: String
    public var hosts = 3
    /// Each echo this far apart; silences are measured in these steps.
    public var pingInterval = Duration.milliseconds(100)
    /// How long pings may stay silent after a swap before the swap counts as failed.
    public var resumeBound = Duration.seconds(15)

    public init(upstream: String, ours: String, etcdV2: Bool, backend: String) {
        self.upstream = upstream
        self.ours = ours
        self.etcdV2 = etcdV2
        self.backend = backend
    }

    public struct Swap: Sendable, CustomStringConvertible {
        public var host: String
        /// "ours" or "upstream": what runs on the host afterwards.
        public var to: String
        /// The longest silence of any container's pings across the swap.
        public var longestGap: Duration
        public var lost: Int
        public var transmitted: Int
        public var problems: [String]

        public var description: String {
            "\(host) → \(to): longest ping gap \(RollingMigration.seconds(longestGap)), \(lost) of \(transmitted) echoes lost"
                + (problems.isEmpty ? "" : "; " + problems.joined(separator: "; "))
        }
    }

    public struct Report: Sendable {
        public var swaps: [Swap] = []
        /// Problems before the first swap (the upstream cluster did not converge).
        public var setupProblems: [String] = []
        public var passed: Bool { setupProblems.isEmpty && swaps.allSatisfy { $0.problems.isEmpty } }
    }

    public func run(names: LabNames = LabNames(), progress: (String) -> Void = { _ in }) throws -> Report {
        let lab = try Lab(names: names, enableV2: etcdV2)
        defer { lab.destroy() }
        let config = #"{ "Network": "10.1.0.0/16", "Backend": { "Type": "\#(backend)" } }"#
        if etcdV2 {
            try CommandRunner.check(lab.etcdctlV2Command(["set", "/coreos.com/network/config", config]))
        } else {
            try lab.etcdctl(["put", "/coreos.com/network/config", config])
        }
        progress("lab \(lab.names.run): etcd \(etcdV2 ? "v2" : "v3") API, config \(config)")
        var report = Report()
        let labHosts = try (1...max(2, hosts)).map { try lab.addHost($0) }
        var subnets: [IPv4Network] = []
        for host in labHosts {
            try startUpstream(on: host)
            subnets.append(try host.waitForSubnetFile().ipv4Pair().subnet)
        }
        for host in labHosts.dropLast() {
            host.stopAgent()
            let written = Self.modificationDate(host.subnetFilePath)
            try startUpstream(on: host)
            try Poll.until("upstream on \(host.namespace) to rewrite subnet.env after its restart", timeout: .seconds(30)) {
                Self.modificationDate(host.subnetFilePath) != written
            }
        }
        progress("upstream \(URL(fileURLWithPath: upstream).lastPathComponent) on " + zip(labHosts, subnets).map { "\($0.namespace.name) \($1)" }.joined(separator: ", "))
        let containers = try labHosts.map { try $0.addContainer() }
        do {
            try waitForFullMesh(containers, timeout: .seconds(30))
        } catch {
            report.setupProblems.append("the upstream cluster did not converge: \(error)")
            return report
        }
        report.setupProblems += leaseProblems(lab, hosts: labHosts, subnets: subnets)

        let plan = labHosts.map { ($0, true) } + [(labHosts[1], false)]
        for (host, toOurs) in plan {
            let pings = try containers.indices.map { index in
                try BackgroundPing(from: containers[index].namespace, to: containers[(index + 1) % containers.count].address,
                                   count: 100_000, interval: pingInterval,
                                   logFile: lab.directory.appendingPathComponent("ping-\(host.index)-\(toOurs ? "ours" : "upstream")-\(index).log"))
            }
            var problems: [String] = []
            // Steady pings first, so a gap is the swap's and not the series' start.
            _ = try? Poll.until("pings before the swap", timeout: .seconds(10), interval: .milliseconds(100)) {
                pings.allSatisfy { $0.soFar.received >= 3 }
            }
            host.stopAgent()
            if toOurs {
                try host.startAgent(binary: ours)
                do {
                    try Poll.until("our agent on \(host.namespace) to be ready", timeout: .seconds(30)) {
                        guard let agent = host.agent, agent.isRunning else {
                            throw ScenarioStop("our agent on \(host.namespace) exited: \(host.agent?.log.suffix(400) ?? "")")
                        }
                        return agent.log.components(separatedBy: "] ready").count - 1 >= 1
                    }
                } catch { problems.append("\(error)") }
            } else {
                let written = Self.modificationDate(host.subnetFilePath)
                try startUpstream(on: host)
                do {
                    try Poll.until("upstream on \(host.namespace) to rewrite subnet.env", timeout: .seconds(30)) {
                        Self.modificationDate(host.subnetFilePath) != written
                    }
                } catch { problems.append("\(error)") }
            }
            do {
                try waitForFullMesh(containers, timeout: resumeBound)
            } catch {
                problems.append("pings did not resume within \(RollingMigration.seconds(resumeBound)): \(error)")
            }
            // Then ten more answers on every series: traffic keeps flowing, not just came back once.
            let answered = pings.map(\.soFar.received)
            do {
                try Poll.until("ten more answers on every ping series after the swap", timeout: resumeBound, interval: .milliseconds(100)) {
                    zip(pings, answered).allSatisfy { $0.soFar.received >= $1 + 10 }
                }
            } catch { problems.append("\(error)") }
            let outcomes = try pings.map { try $0.interrupt() }
            let index = host.index - 1
            if let now = try? host.waitForSubnetFile(timeout: .seconds(5)).ipv4Pair().subnet, now != subnets[index] {
                problems.append("\(host.namespace.name)'s subnet changed from \(subnets[index]) to \(now)")
            }
            problems += leaseProblems(lab, hosts: labHosts, subnets: subnets)
            let swap = Swap(host: "h\(host.index)", to: toOurs ? "ours" : "upstream",
                            longestGap: outcomes.map(\.longestSilence).max() ?? .zero,
                            lost: outcomes.map(\.lost).reduce(0, +), transmitted: outcomes.map(\.transmitted).reduce(0, +),
                            problems: problems)
            progress(swap.description)
            report.swaps.append(swap)
        }
        return report
    }

    private func startUpstream(on host: LabHost) throws {
        try host.startAgent(binary: upstream, arguments: ["-iface=eth0"])
    }

    /// Every container reaches the next one (a ring), polled until `timeout`.
    private func waitForFullMesh(_ containers: [(namespace: Namespace, address: IPv4Address)], timeout: Duration) throws {
        for index in containers.indices {
            let (from, to) = (containers[index], containers[(index + 1) % containers.count])
            try Poll.until("\(from.namespace) to reach \(to.address)", timeout: timeout, interval: .milliseconds(200)) {
                try from.namespace.run(["ping", "-c", "1", "-W", "1", to.address.description]).succeeded
            }
        }
    }

    /// Exactly one lease per host, each at the subnet the host held before the migration.
    private func leaseProblems(_ lab: Lab, hosts: [LabHost], subnets: [IPv4Network]) -> [String] {
        let listing: String
        do {
            listing = etcdV2
                ? try CommandRunner.check(lab.etcdctlV2Command(["ls", "/coreos.com/network/subnets"])).stdout
                : try lab.etcdctl(["get", "--prefix", "/coreos.com/network/subnets/", "--keys-only"]).stdout
        } catch {
            return ["etcd: the leases could not be listed: \(error)"]
        }
        let keys = listing.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let expected = subnets.map { "/coreos.com/network/subnets/\($0.address)-\($0.prefixLength)" }
        var problems: [String] = []
        if keys.sorted() != expected.sorted() {
            problems.append("etcd holds \(keys.sorted()) instead of one lease per host \(expected.sorted())")
        }
        return problems
    }

    /// "1.3 s".
    public static func seconds(_ duration: Duration) -> String {
        String(format: "%.1f s", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }

    private static func modificationDate(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    /// A swap that cannot go on (the agent exited).
    struct ScenarioStop: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
