/// What a scenario found in one world: each check with its outcome, the checks this world
/// could not make, the figures worth reading, the error that ended it early, and the outcome
/// the worlds are compared on. `flannel-sim run` and `netns-lab scenario` print it alike.
public struct ScenarioReport: Sendable, CustomStringConvertible {
    public struct Check: Sendable, Equatable {
        public var passed: Bool
        public var text: String

        public init(passed: Bool, text: String) {
            self.passed = passed
            self.text = text
        }
    }

    public var id: String
    public var name: String
    public var summary: String
    public var world: ClusterWorld
    public var checks: [Check] = []
    /// Checks this world cannot make, with the capability they need.
    public var skipped: [String] = []
    public var notes: [String] = []
    /// A step that could not be carried out.
    public var error: String?
    /// Lines that help after a failure (agents' last log lines, the simulator's replay command).
    public var diagnostics: [String] = []
    public var outcome: ScenarioOutcome?
    public var duration: Duration = .zero

    public init(id: String, name: String, summary: String, world: ClusterWorld) {
        self.id = id
        self.name = name
        self.summary = summary
        self.world = world
    }

    public var passed: Bool { error == nil && !checks.isEmpty && checks.allSatisfy(\.passed) }

    public var description: String {
        var lines = ["\(id) \(name) [\(world.rawValue)]: \(summary)"]
        lines += notes.map { "  · \($0)" }
        lines += checks.map { "  \($0.passed ? "✔" : "✘") \($0.text)" }
        lines += skipped.map { "  – not in the \(world.rawValue): \($0)" }
        if let error { lines.append("  ✘ stopped: \(error)") }
        if let outcome { lines += outcome.lines.map { "  = \($0)" } }
        if !passed { lines += diagnostics.map { "  \($0)" } }
        let failed = checks.filter { !$0.passed }.count
        lines.append("  \(passed ? "PASSED" : "FAILED") in the \(world.rawValue) (\(checks.count) checks\(failed > 0 ? ", \(failed) failed" : "")\(skipped.isEmpty ? "" : ", \(skipped.count) not here"))")
        return lines.joined(separator: "\n")
    }
}
