import Agent
import Foundation

/// Runs the conformance catalogue against one binary, one fresh lab per scenario.
public struct ConformanceReport: Sendable {
    public var subject: ConformanceSubject
    public var verdicts: [(ConformanceCase, ConformanceVerdict)] = []

    public init(subject: ConformanceSubject) {
        self.subject = subject
    }

    public static func run(_ subject: ConformanceSubject, cases: [ConformanceCase] = ConformanceCase.catalogue,
                           progress: (String) -> Void = { _ in }) -> ConformanceReport {
        var report = ConformanceReport(subject: subject)
        for scenario in cases {
            let verdict = run(scenario, subject)
            progress("\(scenario.id) (\(scenario.origin)): \(verdict)")
            report.verdicts.append((scenario, verdict))
        }
        return report
    }

    /// One scenario in a lab of its own, named `names` (so an interrupted run can be cleaned).
    public static func run(_ scenario: ConformanceCase, _ subject: ConformanceSubject, names: LabNames = LabNames()) -> ConformanceVerdict {
        if let reason = scenario.notApplicable(subject) { return .notApplicable(reason) }
        do {
            let lab = try Lab(names: names, enableV2: subject.etcdV2)
            defer { lab.destroy() }
            try scenario.story(ConformanceRun(lab: lab, subject: subject))
            return .pass
        } catch let failure as ConformanceFailure {
            return .fail(check: failure.check, expected: failure.expected, happened: failure.happened)
        } catch {
            return .fail(check: "the lab", expected: "the scenario to run", happened: "\(error)")
        }
    }

    public var passed: Int { verdicts.filter { $0.1.isPass }.count }
}
