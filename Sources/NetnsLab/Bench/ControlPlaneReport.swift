import ClusterScenarios
import Foundation

/// The control-plane bench's figures, the lab's and the simulator's side by side per backend,
/// and the verdict on the join goal (p99 ≤ 250 ms for vxlan and host-gw).
public struct ControlPlaneReport {
    public struct Run {
        public var backend: String
        public var lab: ControlPlaneFigures
        public var simulator: ControlPlaneFigures

        public init(backend: String, lab: ControlPlaneFigures, simulator: ControlPlaneFigures) {
            self.backend = backend
            self.lab = lab
            self.simulator = simulator
        }
    }

    public var runs: [Run]
    public static let joinGoal = Duration.milliseconds(250)
    public static let goalBackends = ["vxlan", "host-gw"]

    public init(runs: [Run]) {
        self.runs = runs
    }

    public var markdown: String {
        var header = "| figure |", rule = "|---|"
        for run in runs {
            header += " \(run.backend) lab | \(run.backend) simulator |"
            rule += "---|---|"
        }
        var lines = [header, rule]
        func row(_ name: String, _ cell: (ControlPlaneFigures, Bool) -> String) {
            lines.append("| \(name) |" + runs.map { " \(cell($0.lab, true)) | \(cell($0.simulator, false)) |" }.joined())
        }
        row("cold start: first agent's start → every agent has every other") { figures, _ in Self.time(figures.coldStartConvergence) }
        row("cold start: etcd requests (per second)") { figures, _ in
            String(format: "%d (%.0f/s)", figures.coldStartRequests, figures.coldStartRequestsPerSecond)
        }
        row("join: agent start → reachable from every host, p50 / p99 / max") { figures, _ in Self.quantiles(figures.joinsFromStart) }
        row("join: lease held → reachable from every host, p50 / p99 / max") { figures, _ in Self.quantiles(figures.joinsFromLease) }
        row("rest: etcd requests per host per hour") { figures, _ in String(format: "%.0f", figures.restRequestsPerHostHour) }
        row("rest: agent RSS, median / max") { figures, lab in
            guard lab, !figures.residentKilobytes.isEmpty else { return "-" }
            let sorted = figures.residentKilobytes.sorted()
            return String(format: "%.1f / %.1f MB", Double(sorted[sorted.count / 2]) / 1024, Double(sorted.last!) / 1024)
        }
        row("rest: agent CPU, median / max (share of a core)") { figures, lab in
            guard lab, !figures.cpuShares.isEmpty else { return "-" }
            let sorted = figures.cpuShares.sorted()
            return String(format: "%.2f / %.2f %%", 100 * sorted[sorted.count / 2], 100 * sorted.last!)
        }
        row("etcd leader SIGKILLed → every agent renewed") { figures, _ in figures.renewedAfterLeaderKill.map(Self.time) ?? "not within 3 TTLs" }
        row("etcd leader SIGKILLed: renewals that failed and were retried") { figures, _ in "\(figures.failedRenewalsAfterLeaderKill)" }
        return lines.joined(separator: "\n")
    }

    /// "… vxlan met (41 ms), host-gw met (38 ms)", on the lab's joins from the agent's start.
    public var verdict: String {
        let judged = runs.filter { Self.goalBackends.contains($0.backend) }.map { run -> String in
            guard let p99 = ControlPlaneFigures.quantile(run.lab.joinsFromStart, 0.99) else { return "\(run.backend) not measured" }
            return "\(run.backend) \(p99 <= Self.joinGoal ? "met" : "NOT MET") (\(Self.time(p99)))"
        }
        return "Goal, join p99 (agent start → reachable from every host, lab) ≤ 250 ms: "
            + (judged.isEmpty ? "no vxlan or host-gw run" : judged.joined(separator: ", "))
    }

    /// "12 ms", "1.23 s".
    public static func time(_ duration: Duration) -> String {
        let seconds = duration.inSeconds
        return seconds < 1 ? String(format: "%.0f ms", seconds * 1000) : String(format: "%.2f s", seconds)
    }

    public static func quantiles(_ values: [Duration]) -> String {
        guard let p50 = ControlPlaneFigures.quantile(values, 0.5), let p99 = ControlPlaneFigures.quantile(values, 0.99),
              let max = values.max() else { return "-" }
        return "\(time(p50)) / \(time(p99)) / \(time(max))"
    }
}
