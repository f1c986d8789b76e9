/// What a lab scenario found: each check with its outcome, the figures worth reading (outage
/// lengths, counts), and the error that ended it early, if any.
public struct LabScenarioReport: Sendable, CustomStringConvertible {
    public struct Check: Sendable {
        public var passed: Bool
        public var text: String
    }

    public var id: String
    public var name: String
    public var summary: String
    public var checks: [Check] = []
    public var notes: [String] = []
    /// A step that could not be carried out (a timeout, a command that failed).
    public var error: String?
    /// The last lines of each agent's log, kept when something failed.
    public var logTails: [String] = []
    public var duration: Duration = .zero

    public var passed: Bool { error == nil && !checks.isEmpty && checks.allSatisfy(\.passed) }

    public var description: String {
        var lines = ["\(id) \(name): \(summary)"]
        lines += notes.map { "  · \($0)" }
        lines += checks.map { "  \($0.passed ? "✔" : "✘") \($0.text)" }
        if let error { lines.append("  ✘ stopped: \(error)") }
        if !passed && !logTails.isEmpty {
            lines.append("  agent logs (last lines):")
            lines += logTails.map { "    \($0)" }
        }
        let failed = checks.filter { !$0.passed }.count
        lines.append("  \(passed ? "PASSED" : "FAILED") in \(duration.secondsText) (\(checks.count) checks\(failed > 0 ? ", \(failed) failed" : ""))")
        return lines.joined(separator: "\n")
    }
}
