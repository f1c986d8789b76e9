import AgentCore
import ClusterScenarios

/// Time in the simulator: the story's stretches and the waits run the world; ping series
/// send their echoes as time passes.
extension SimCluster {
    public func startPings(from container: ClusterContainer, to address: IPv4Address, interval: Duration) throws -> PingSeries {
        let handle = PingSeries(from: container, to: address, interval: interval, token: nextSeriesToken)
        nextSeriesToken += 1
        series[handle.token] = SimPingSeries(series: handle, container: try containerIndex(container), nextAt: world.now)
        return handle
    }

    /// A silence counts once an answer ends it, as with a real ping read while it runs.
    public func pingsSoFar(_ handle: PingSeries) throws -> PingSeriesOutcome {
        guard let running = series[handle.token] else { throw ScenarioFailure("no such ping series") }
        return PingSeriesOutcome(answered: running.answered, transmitted: running.answered.max() ?? 0, interval: handle.interval)
    }

    public func stopPings(_ handle: PingSeries) throws -> PingSeriesOutcome {
        guard let running = series.removeValue(forKey: handle.token) else { throw ScenarioFailure("no such ping series") }
        return PingSeriesOutcome(answered: running.answered, transmitted: running.sent, interval: handle.interval)
    }

    public func pass(_ duration: Duration, _ what: String) throws {
        advance(to: world.now + duration)
    }

    public func waitUntil(_ what: String, timeout: Duration, _ condition: () throws -> Bool) throws {
        let deadline = world.now + timeout
        while true {
            if try condition() { return }
            guard world.now < deadline else { throw ScenarioFailure("timed out after \(timeout) waiting for \(what)") }
            advance(to: min(deadline, world.now + .milliseconds(10)))
        }
    }

    /// Runs the world to `deadline`, sending each series' echoes when they are due. An echo
    /// waits at most its interval for the answer, so the series keep their pace.
    func advance(to deadline: Timestamp) {
        while let (token, due) = series.map({ ($0.key, $0.value.nextAt) }).min(by: { ($0.1, $0.0) < ($1.1, $1.0) }), due <= deadline {
            if due > world.now { world.run(for: due - world.now) }
            guard var running = series[token] else { continue }
            running.sent += 1
            let host = world.host(running.series.from.host.index)
            let outcome = world.ping(from: host, container: running.container, to: running.series.to,
                                     timeout: min(running.series.interval, .seconds(1)))
            if case .reply = outcome { running.answered.insert(running.sent) }
            running.nextAt = due + running.series.interval
            series[token] = running
        }
        if deadline > world.now { world.run(for: deadline - world.now) }
    }

    /// After the story: faults healed, 10 s of settling, then the simulator's invariants.
    public func finish(_ run: ScenarioRun) throws {
        series.removeAll()
        world.faults = SimFaults()
        world.run(for: .seconds(10))
        world.checkSettled()
        let violations = world.violations
        run.expect(needs: .invariants, { violations.isEmpty },
                   "the simulator's invariants hold after 10 s of settling\(violations.isEmpty ? "" : ": " + violations.joined(separator: "; "))")
    }
}
