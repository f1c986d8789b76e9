import Agent
import ClusterScenarios
import Foundation

/// The control plane at scale in the lab: the setup's host namespaces on its etcd members,
/// real agents of one backend, containers on the first three. It measures a cold start
/// of every agent at once until each has every other as a peer, etcd's requests then and at
/// rest, the agents' memory and CPU at rest, `joins` hosts joining one at a time (until each
/// is reachable from every other host), and the time until every agent has renewed after
/// etcd's leader is SIGKILLed. Times come from the agents' own log timestamps.
public struct ControlPlaneBench {
    public let setup: ControlPlaneSetup
    public let flanneld: String
    private let progress: (String) -> Void

    public init(setup: ControlPlaneSetup, flanneld: String, progress: @escaping (String) -> Void = { _ in }) {
        self.setup = setup
        self.flanneld = flanneld
        self.progress = progress
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public func run(names: LabNames) throws -> ControlPlaneFigures {
        let (hosts, joins, backend, rest, leaseTTL) = (setup.hosts, setup.joins, setup.backend, setup.rest, setup.leaseTTL)
        let lab = try Lab(names: names, etcdMembers: setup.etcdMembers)
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config", setup.networkConfig])
        let all = try (1...(hosts + joins)).map { try lab.addHost($0) }
        progress("lab \(names.run): \(hosts + joins) hosts, etcd members \(lab.etcdMembers.map(\.name).joined(separator: ", ")), backend \(backend)")
        let arguments = ["--subnet-lease-ttl=\(LeaseTTLText.text(for: leaseTTL))"]
        var running = Array(all.prefix(hosts))

        // Cold start: every agent at once.
        let requestsBefore = try etcdRequests(lab)
        for host in running { try host.startAgent(binary: flanneld, arguments: arguments) }
        var logs: [AgentLogTimes] = []
        try Poll.until("\(hosts) agents to have every other as a peer", timeout: .seconds(180), interval: .milliseconds(250)) {
            if let dead = running.first(where: { $0.agent?.isRunning != true }) {
                throw Failure(description: "the agent on h\(dead.index) exited: \(dead.agent?.log.suffix(600) ?? "")")
            }
            logs = running.map(logTimes)
            return logs.allSatisfy { $0.subnet != nil && $0.reached.count >= hosts - 1 }
        }
        let coldRequests = try etcdRequests(lab) - requestsBefore
        let started = logs.compactMap(\.firstLine).min() ?? 0
        let converged = logs.compactMap { $0.reached.values.max() }.max() ?? started
        progress(String(format: "cold start: %d agents converged %.3f s after the first started; %d etcd requests", hosts, converged - started, coldRequests))
        try checkPings(running)

        // Rest: requests, memory, CPU.
        let restBefore = try etcdRequests(lab)
        let ticksBefore = running.map(Self.cpuTicks)
        Thread.sleep(forTimeInterval: rest.inSeconds)
        var figures = ControlPlaneFigures(hosts: hosts, coldStartConvergence: .seconds(converged - started), coldStartRequests: coldRequests,
                                          restRequests: try etcdRequests(lab) - restBefore, rest: rest)
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        figures.cpuShares = zip(running.map(Self.cpuTicks), ticksBefore).compactMap { after, before in
            guard let after, let before else { return nil }
            return Double(after - before) / ticksPerSecond / rest.inSeconds
        }
        figures.residentKilobytes = running.compactMap(Self.residentKilobytes)
        guard !figures.residentKilobytes.isEmpty else {
            throw Failure(description: "no agent's /proc/<pid>/status could be read at rest: did the agents exit? (logs in \(lab.directory.path))")
        }
        progress(String(format: "rest: %d etcd requests in %.0f s; RSS median %d kB", figures.restRequests, rest.inSeconds,
                        figures.residentKilobytes.sorted()[figures.residentKilobytes.count / 2]))

        // Joins, one at a time, a second apart.
        for newcomer in all.dropFirst(hosts) {
            try newcomer.startAgent(binary: flanneld, arguments: arguments)
            var joined = AgentLogTimes(log: "", routes: false)
            // Only the hosts that have not programmed it yet are read again: the bench shares
            // the machine's cores with the agents it measures.
            var waiting = running
            var reached: Double = 0
            try Poll.until("h\(newcomer.index) to be reachable from every host", timeout: .seconds(30), interval: .milliseconds(100)) {
                if joined.subnet == nil { joined = logTimes(newcomer) }
                guard let subnet = joined.subnet else { return false }
                waiting = waiting.filter { host in
                    guard let time = logTimes(host).reached[subnet] else { return true }
                    reached = max(reached, time)
                    return false
                }
                return waiting.isEmpty
            }
            // The others may program it before the newcomer logs its create's answer.
            figures.joinsFromLease.append(.seconds(max(0, reached - (joined.leasedAt ?? reached))))
            figures.joinsFromStart.append(.seconds(reached - (joined.firstLine ?? reached)))
            running.append(newcomer)
            Thread.sleep(forTimeInterval: 1)
        }
        let fromStart = figures.joinsFromStart.map { Int($0.inSeconds * 1000) }
        progress("\(joins) joins, agent start → reachable from every host (ms): \(fromStart.map(String.init).joined(separator: " "))")

        // etcd's leader killed: until every agent has renewed.
        if let leader = lab.etcdLeader() {
            let cluster = LabCluster(lab: lab, flanneld: flanneld)
            let subnets = running.compactMap { logTimes($0).subnet }
            let revision = try lab.etcdRevision()
            let clock = ContinuousClock()
            let killed = clock.now
            try lab.killEtcdMember(leader)
            try? Poll.until("every agent to renew after the leader's death", timeout: leaseTTL * 3, interval: .milliseconds(250)) {
                guard let leases = try? cluster.leases() else { return false }
                return subnets.allSatisfy { subnet in leases.contains { $0.subnet == subnet && $0.modRevision > revision } }
            }
            let leases = (try? cluster.leases()) ?? []
            if subnets.allSatisfy({ subnet in leases.contains { $0.subnet == subnet && $0.modRevision > revision } }) {
                figures.renewedAfterLeaderKill = clock.now - killed
            }
            // The rest and the joins renewed without failing: every failure is the kill's.
            figures.failedRenewalsAfterLeaderKill = running.map { logTimes($0).failedRenewals }.reduce(0, +)
            progress("etcd leader m\(leader) killed: every agent renewed after \(figures.renewedAfterLeaderKill?.secondsText ?? "more than \((leaseTTL * 3).secondsText)")")
            try lab.startEtcdMember(leader)
        }
        return figures
    }

    /// What `host`'s agent log says; a kernel backend's peer counts once its route is in.
    func logTimes(_ host: LabHost) -> AgentLogTimes {
        AgentLogTimes(log: host.agent?.log ?? "", routes: setup.backend != "udp")
    }

    /// Pings across the first three hosts' containers: the converged cluster forwards.
    private func checkPings(_ hosts: [LabHost]) throws {
        let containers = try hosts.prefix(3).map { try $0.addContainer() }
        for (from, to) in zip(containers, containers.dropFirst() + containers.prefix(1)) {
            try Poll.until("\(from.namespace) to ping \(to.address)", timeout: .seconds(10), interval: .milliseconds(200)) {
                try from.namespace.run(["ping", "-c", "1", "-W", "1", "\(to.address)"]).succeeded
            }
        }
        progress("pings answered among \(containers.map(\.namespace.name).joined(separator: ", "))")
    }

    /// etcd's unary gRPC calls so far, summed over the running members (their /metrics, read
    /// inside the lab: the root namespace has no route to it).
    private func etcdRequests(_ lab: Lab) throws -> Int {
        let script = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"
        var total = 0
        for member in lab.etcdMembers where member.isRunning {
            let text = try member.namespace.check(["python3", "-c", script, "http://\(member.address):2379/metrics"]).stdout
            total += Self.unaryCalls(inMetrics: text)
        }
        return total
    }

    /// The sum of `grpc_server_started_total{…grpc_type="unary"} N` lines.
    static func unaryCalls(inMetrics text: String) -> Int {
        text.split(separator: "\n").reduce(0) { sum, line in
            guard line.hasPrefix("grpc_server_started_total{"), line.contains(#"grpc_type="unary""#),
                  let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { return sum }
            return sum + Int(value)
        }
    }

    private static func cpuTicks(_ host: LabHost) -> Int? {
        guard let pid = host.agent?.processIdentifier, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        return BenchProbes.cpuTicks(stat: stat)
    }

    private static func residentKilobytes(_ host: LabHost) -> Int? {
        guard let pid = host.agent?.processIdentifier, let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        return BenchProbes.residentKilobytes(status: status)
    }
}
