import AgentCore

/// Scenario S13 (simulator only): N hosts join a 10.0.0.0/8 network with /24 subnets over the
/// first five minutes and live for `hours` with churn: every hour 2 % of the agents crash and
/// come back a minute later, 1 % of the hosts leave for good and as many new ones join.
/// Measures what `flannel-sim bench` reports; wall time and memory are the caller's (no clock here).
public final class SimScaleRun {
    public struct Outcome: Sendable {
        public var hosts: Int
        public var hours: Int
        public var simulated: Duration
        public var etcdRequests: Int
        /// From the first agent starting until every agent holds a lease and sees every other.
        public var convergence: Duration?
        public var liveLeases: Int
        public var traceHash: String
        public var violations: [String]

        public var requestsPerHostHour: Double { Double(etcdRequests) / Double(max(1, hosts)) / Double(max(1, hours)) }
    }

    public let world: SimWorld
    public let hostCount: Int
    public let hours: Int

    public init(hosts: Int, hours: Int, seed: UInt64, deliversLazily: Bool = true) {
        var options = SimOptions()
        options.keepsTrace = false
        options.tracesDetail = false
        options.deliversLazily = deliversLazily
        world = SimWorld(seed: seed, options: options)
        hostCount = hosts
        self.hours = hours
    }

    /// Runs hour by hour, calling `hourDone` after each (for progress and wall-time readings).
    public func run(hourDone: (Int, SimScaleRun) -> Void = { _, _ in }) -> Outcome {
        world.writeNetworkConfig(#"{ "Network": "10.0.0.0/8" }"#)
        for _ in 0..<hostCount {
            let host = world.addHost()
            let start = Timestamp(nanoseconds: 0) + world.uniform(0...300)
            world.scheduler.schedule(at: start) { [unowned world] in world.startAgent(host) }
        }
        var convergence: Duration?
        // Until converged, look every 10 simulated seconds.
        while convergence == nil && world.now < .seconds(3600) {
            world.run(for: .seconds(10))
            if isConverged() { convergence = world.now - .zero }
        }
        for hour in 1...max(1, hours) {
            let end = Timestamp.seconds(Int64(hour) * 3600)
            if hour > 1 || world.now < end {
                churn()
                world.scheduler.run(until: end)
            }
            hourDone(hour, self)
        }
        return Outcome(hosts: hostCount, hours: hours, simulated: world.now - .zero, etcdRequests: world.statistics.etcdRequests,
                       convergence: convergence, liveLeases: world.etcd.listLeases(layout: world.layout).records.count,
                       traceHash: world.trace.hashText, violations: world.violations)
    }

    /// Every host has started, holds a lease and knows every other host's lease.
    public func isConverged() -> Bool {
        guard world.hosts.allSatisfy({ $0.agent?.held != nil }) else { return false }
        let others = world.hosts.count - 1
        return world.hosts.allSatisfy { $0.agent!.table.peerCount >= others }
    }

    private func churn() {
        let running = world.hosts.filter { $0.agent != nil }
        guard !running.isEmpty else { return }
        let crashes = max(1, running.count / 50), departures = max(1, running.count / 100)
        for _ in 0..<crashes {
            let host = running[Int.random(in: 0..<running.count, using: &world.random)]
            guard host.agent != nil else { continue }
            world.stopAgent(host, reason: "crashed (churn)")
            world.scheduler.schedule(after: .seconds(60)) { [unowned world] in world.startAgent(host) }
        }
        for _ in 0..<departures {
            let host = running[Int.random(in: 0..<running.count, using: &world.random)]
            guard host.agent != nil else { continue }
            world.stopAgent(host, reason: "left for good")
            let newcomer = world.addHost()
            world.scheduler.schedule(after: world.uniform(0...3600)) { [unowned world] in world.startAgent(newcomer) }
        }
    }
}
