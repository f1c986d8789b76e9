import Agent
import Foundation

/// One binary's verdicts, a fresh lab per scenario (`netns-lab conformance` fills it).
public struct ConformanceReport: Sendable {
    public var subject: ConformanceSubject
    public var verdicts: [(ConformanceCase, ConformanceVerdict)] = []

    public init(subject: ConformanceSubject) {
        self.subject = subject
    }

    /// One scenario in a lab of its own, named `names` (so an interrupted run can be cleaned).
    public static func run(_ scenario: ConformanceCase, _ subject: ConformanceSubject, names: LabNames = LabNames()) -> ConformanceVerdict {
        if let reason = scenario.notApplicable(subject) { return .notApplicable(reason) }
        do {
            let lab = try Lab(names: names, enableV2: subject.etcdV2, ipv6: scenario.needsIPv6)
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
