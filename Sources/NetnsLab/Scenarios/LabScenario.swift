import Foundation

/// A scenario of SCENARIOS.md on real hosts: real namespaces, a real etcd, real flanneld
/// processes. The id and name are the simulator's (`SimScenario`), and so are the
/// expectations; `netns-lab scenario <name>` prints the report, the integration tests assert
/// every check of it.
public struct LabScenario: Sendable, Identifiable, CustomStringConvertible {
    public let id: String
    public let name: String
    public let summary: String
    let body: @Sendable (LabScenarioRun) throws -> Void

    public var description: String { "\(id) \(name)" }

    init(id: String, name: String, summary: String, body: @escaping @Sendable (LabScenarioRun) throws -> Void) {
        self.id = id
        self.name = name
        self.summary = summary
        self.body = body
    }

    /// Finds a scenario by id ("S4", "s4") or name ("subnet-taken-drift").
    public static func named(_ text: String) -> LabScenario? {
        catalogue.first { $0.name == text || $0.id.lowercased() == text.lowercased() }
    }

    /// Builds a lab, runs the scenario, removes the lab (also when a step fails). `progress`
    /// gets each step and check as it happens.
    public func run(flanneld: String, names: LabNames = LabNames(),
                    progress: @escaping (String) -> Void = { _ in }) -> LabScenarioReport {
        let clock = ContinuousClock()
        let start = clock.now
        progress("\(id) \(name): \(summary)")
        var report = LabScenarioReport(id: id, name: name, summary: summary)
        do {
            let lab = try Lab(names: names)
            defer { lab.destroy() }
            let run = LabScenarioRun(lab: lab, flanneld: flanneld, progress: progress)
            do {
                try body(run)
            } catch {
                report.error = "\(error)"
            }
            report.checks = run.checks
            report.notes = run.notes
            if report.error != nil || report.checks.contains(where: { !$0.passed }) {
                report.logTails = lab.hosts.compactMap { host in
                    host.agent.map { "\(host.namespace): " + $0.log.split(separator: "\n").suffix(12).joined(separator: "\n    ") }
                }
            }
        } catch {
            report.error = "the lab could not be built: \(error)"
        }
        report.duration = clock.now - start
        return report
    }
}
