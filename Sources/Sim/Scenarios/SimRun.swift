import AgentCore
import ClusterScenarios

/// One scenario run on one seed: the world, the failed expectations, and what replays it.
public final class SimRun {
    public let scenario: SimScenario
    public let world: SimWorld
    public private(set) var failures: [String] = []

    init(scenario: SimScenario, seed: UInt64, options: SimOptions) {
        self.scenario = scenario
        world = SimWorld(seed: seed, options: options)
    }

    /// Records a failed expectation (with the virtual time) unless `condition` holds.
    public func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
        // After a broken invariant the world stands still: what follows would be its echo.
        guard !condition, !world.scheduler.isHalted else { return }
        let text = "\(SimTrace.format(world.now)) \(message())"
        failures.append(text)
        world.record("EXPECTATION FAILED: \(message())")
    }

    /// Every failure: the scenario's own expectations and the world's broken invariants.
    public var allFailures: [String] { world.violations + failures }
    public var passed: Bool { allFailures.isEmpty }

    public var replayCommand: String {
        "swift run flannel-sim run \(scenario.name) --seed \(world.seed) --trace"
    }

    /// A readable summary: outcome, trace hash, and on failure how to replay it.
    public var summary: String {
        var lines = ["\(scenario.id) \(scenario.name) seed \(world.seed): \(passed ? "passed" : "FAILED")"
            + " (\(world.trace.count) trace lines, hash \(world.trace.hashText), \(SimTrace.format(world.now)) simulated)"]
        for failure in allFailures { lines.append("  - \(failure)") }
        if !passed { lines.append("  replay: \(replayCommand)") }
        return lines.joined(separator: "\n")
    }

    /// The run in the shared report format: the simulator's expectations keep only their
    /// failures, so a passing run is one check.
    public var report: ScenarioReport {
        var report = ScenarioReport(id: scenario.id, name: scenario.name, summary: scenario.summary, world: .simulator)
        report.checks = passed ? [.init(passed: true, text: "every expectation and invariant held")]
            : allFailures.map { .init(passed: false, text: $0) }
        report.notes = ["seed \(world.seed): \(world.trace.count) trace lines, hash \(world.trace.hashText), \(SimTrace.format(world.now)) simulated"]
        if !passed { report.diagnostics = ["replay: \(replayCommand)"] }
        return report
    }

    // MARK: Building blocks for scenarios

    /// N hosts with running agents and one container each, the config written first.
    @discardableResult
    public func cluster(hosts count: Int, config: String? = nil, containers: Bool = true) -> [SimHost] {
        world.writeNetworkConfig(config ?? world.options.networkConfig)
        let hosts = (0..<count).map { _ in world.addHost() }
        for host in hosts { world.startAgent(host) }
        let leased = world.run(until: { hosts.allSatisfy { $0.agent?.held != nil } }, timeout: .seconds(60))
        expect(leased, "every agent holds a lease within 60 s: \(hosts.filter { $0.agent?.held == nil }.map(\.name))")
        if containers { for host in hosts { world.deployContainers(on: host) } }
        world.run(for: .seconds(1))
        return hosts
    }

    /// Pings container 1 of `from` to container 1 of `to` and expects a reply with `ttl`.
    public func expectPing(_ from: SimHost, _ to: SimHost, ttl: UInt8 = 60) {
        guard let target = to.containers.first else { return expect(false, "\(to.name) has no container") }
        let outcome = world.ping(from: from, to: target.address)
        expect(outcome == .reply(ttl: ttl), "\(from.name)c1 -> \(to.name)c1 (\(target.address)): expected a reply with ttl=\(ttl), got \(outcome)")
    }

    /// Faults are healed and the settle time passes; then the global invariants are judged.
    public func settleAndCheck(after duration: Duration = .seconds(120)) {
        world.faults = SimFaults()
        world.run(for: duration)
        world.checkSettled()
    }
}
