import AgentCore

/// One scenario as it runs in one world: the harness, what the scenario found, and the
/// building blocks the scenarios share.
public final class ScenarioRun {
    public let scenario: Scenario
    public let harness: any ClusterHarness
    private(set) var report: ScenarioReport
    private let progress: (String) -> Void
    /// Every host added, in order, and the containers made on each.
    public private(set) var hosts: [ClusterHost] = []
    public private(set) var containers: [ClusterHost: [ClusterContainer]] = [:]
    public static let defaultConfig = #"{ "Network": "10.1.0.0/16" }"#
    public static let subnetsPrefix = "subnets/"

    init(scenario: Scenario, harness: any ClusterHarness, progress: @escaping (String) -> Void) {
        self.scenario = scenario
        self.harness = harness
        self.progress = progress
        report = ScenarioReport(id: scenario.id, name: scenario.name, summary: scenario.summary, world: harness.kind)
    }

    public var world: ClusterWorld { harness.kind }

    // MARK: Report

    /// A check: the scenario goes on either way, the report says which failed.
    public func expect(_ condition: Bool, _ text: @autoclosure () -> String) {
        let check = ScenarioReport.Check(passed: condition, text: text())
        report.checks.append(check)
        progress("  \(check.passed ? "✔" : "✘") \(check.text)")
    }

    /// A check that needs `capability`: made where the world has it, listed as not made elsewhere.
    public func expect(needs capability: ClusterCapability, _ condition: () throws -> Bool, _ text: @autoclosure () -> String) rethrows {
        guard harness.capabilities.contains(capability) else {
            report.skipped.append("\(text()) (needs \(capability))")
            progress("  – not in the \(world.rawValue): \(text())")
            return
        }
        expect(try condition(), text())
    }

    /// A figure for the report (an outage's length, a count).
    public func note(_ text: String) {
        report.notes.append(text)
        progress("  · \(text)")
    }

    public func step(_ text: String) { progress("  → \(text)") }

    func stop(because error: String) {
        report.error = error
        progress("  ✘ stopped: \(error)")
    }

    // MARK: Building blocks

    public func writeConfig(_ json: String = defaultConfig) throws {
        try harness.writeConfig(json)
    }

    public func addHosts(_ count: Int) throws -> [ClusterHost] {
        try (0..<count).map { _ in
            let host = try harness.addHost()
            hosts.append(host)
            return host
        }
    }

    public func startAgent(_ host: ClusterHost, ttl: Duration? = nil) throws {
        try harness.startAgent(on: host, AgentSettings(leaseTTL: ttl))
    }

    /// Waits for `host`'s subnet.env; fails at once if its agent exited.
    @discardableResult
    public func waitForSubnetFile(_ host: ClusterHost, timeout: Duration = .seconds(30)) throws -> SubnetFile {
        var found: SubnetFile?
        try harness.waitUntil("\(host)'s subnet.env", timeout: timeout) {
            found = try harness.subnetFile(of: host)
            if found == nil, !harness.agentIsRunning(on: host) {
                throw ScenarioFailure("\(host)'s agent exited before writing subnet.env")
            }
            return found != nil
        }
        return found!
    }

    /// Waits for `host`'s subnet.env and returns its IPv4 subnet (`FLANNEL_SUBNET`).
    public func waitForSubnet(_ host: ClusterHost, timeout: Duration = .seconds(30)) throws -> IPv4Network {
        try ipv4Subnet(of: waitForSubnetFile(host, timeout: timeout), host)
    }

    /// The IPv4 subnet a subnet.env names; a failure when it names none (an IPv6-only file).
    public func ipv4Subnet(of file: SubnetFile, _ host: ClusterHost) throws -> IPv4Network {
        guard let subnet = file.subnet else { throw ScenarioFailure("\(host)'s subnet.env has no FLANNEL_SUBNET") }
        return subnet
    }

    /// Waits until subnet.env names another subnet than `old`.
    public func waitForSubnetChange(_ host: ClusterHost, from old: IPv4Network, timeout: Duration = .seconds(30)) throws -> IPv4Network {
        var now = old
        try harness.waitUntil("\(host)'s subnet.env to name another subnet than \(old)", timeout: timeout) {
            now = try harness.subnetFile(of: host)?.subnet ?? old
            return now != old
        }
        return now
    }

    @discardableResult
    public func addContainer(on host: ClusterHost) throws -> ClusterContainer {
        let container = try harness.addContainer(on: host)
        containers[host, default: []].append(container)
        return container
    }

    public func removeContainer(_ container: ClusterContainer) throws {
        try harness.removeContainer(container)
        containers[container.host]?.removeAll { $0 == container }
    }

    /// Config, hosts, agents (`agents` of them, from the first), their subnet.env, one container each.
    public func cluster(hosts count: Int, agents: Int? = nil, config: String = defaultConfig,
                        ttl: Duration? = nil) throws -> (hosts: [ClusterHost], containers: [ClusterContainer]) {
        try writeConfig(config)
        let hosts = try addHosts(count)
        let running = Array(hosts.prefix(agents ?? count))
        for host in running { try startAgent(host, ttl: ttl) }
        for host in running { try waitForSubnetFile(host) }
        try waitForPeers(running)
        let containers = try running.map { try addContainer(on: $0) }
        return (hosts, containers)
    }

    /// Waits until each of `hosts`' agents has every other's subnet as a peer.
    public func waitForPeers(_ hosts: [ClusterHost], timeout: Duration = .seconds(30)) throws {
        let subnets = try hosts.map { try harness.subnetFile(of: $0)?.subnet }
        try harness.waitUntil("every agent to know every other's subnet", timeout: timeout) {
            try zip(hosts, subnets).allSatisfy { host, own in
                try subnets.allSatisfy { subnet in
                    guard let subnet, subnet != own else { return true }
                    return try harness.knowsPeer(subnet, on: host)
                }
            }
        }
    }

    public func ping(_ from: ClusterContainer, _ to: ClusterContainer, wait: Duration = .seconds(2)) throws -> PingResult {
        try harness.ping(from: from, to: to.address, wait: wait)
    }

    public func waitForPing(_ from: ClusterContainer, _ to: ClusterContainer, timeout: Duration = .seconds(15)) throws {
        try harness.waitUntil("a ping \(from) → \(to) to be answered", timeout: timeout) {
            try ping(from, to, wait: .seconds(1)).isReply
        }
    }

    public func expectPing(_ from: ClusterContainer, _ to: ClusterContainer, ttl: Int = 60) throws {
        let result = try ping(from, to)
        expect(result == .reply(ttl: ttl), "\(from) → \(to): \(result) (expected ttl=\(ttl))")
    }

    public func leaseKey(_ subnet: IPv4Network) -> String {
        "\(Self.subnetsPrefix)\(subnet.address)-\(subnet.prefixLength)"
    }

    public func lease(_ subnet: IPv4Network) throws -> ClusterLease? {
        try harness.leases().first { $0.subnet == subnet }
    }

    public func waitForLog(_ host: ClusterHost, _ text: String, times: Int = 1, timeout: Duration = .seconds(20)) throws {
        try harness.waitUntil("\(host)'s log to say \"\(text)\"\(times > 1 ? " \(times) times" : "")", timeout: timeout) {
            try harness.logCount(text, on: host) >= times
        }
    }

    // MARK: Outcome

    /// Who holds which subnet, drifts, and the reachability matrix, as the worlds compare them.
    func recordOutcome() {
        do {
            var labels: [IPv4Network: String] = [:]
            func label(_ subnet: IPv4Network) -> String {
                if let known = labels[subnet] { return known }
                let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
                let new = labels.count < letters.count ? String(letters[labels.count]) : "S\(labels.count)"
                labels[subnet] = new
                return new
            }
            var facts: [ScenarioOutcome.Host] = []
            for host in hosts {
                let drifts = try harness.drifts(of: host).map { "\(label($0.from))→\(label($0.to))" }
                let running = harness.agentIsRunning(on: host)
                let subnet = running ? try harness.subnetFile(of: host)?.subnet.map(label) : nil
                facts.append(ScenarioOutcome.Host(name: host.name, running: running, subnet: subnet, drifts: drifts))
            }
            let reachable = hosts.filter { harness.agentIsRunning(on: $0) }.compactMap { containers[$0]?.first }
            var matrix: [String] = []
            for from in reachable {
                for to in reachable where to != from {
                    matrix.append("\(from) → \(to): \(try ping(from, to))")
                }
            }
            var outcome = ScenarioOutcome(hosts: facts, reachability: matrix)
            if scenario.interchangeableHosts { outcome = outcome.withoutHostNames }
            report.outcome = outcome
        } catch {
            stop(because: "reading the outcome: \(error)")
        }
    }
}
