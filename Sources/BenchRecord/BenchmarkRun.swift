/// One run of a benchmark as its section's Latest shows it: when, on which commit, by which
/// command on which machine, then what it measured. Both bench tools write this form, and
/// BENCHMARKS.md's hand-kept sections follow it.
public struct BenchmarkRun: Sendable, Equatable {
    /// What the record says when `git rev-parse` had no answer (no repository, no git).
    public static let unknownCommit = "unknown"

    public var date: String
    public var commit: String
    public var command: String
    /// Build, kernel, CPUs: what the numbers depend on besides the code.
    public var machine: String
    /// Markdown: how to read the figures, the table, the verdicts.
    public var results: String

    public init(date: String, commit: String?, command: String, machine: String, results: String) {
        self.date = date
        self.commit = commit.map(MarkdownLines.trimmed).flatMap { $0.isEmpty ? nil : $0 } ?? Self.unknownCommit
        self.command = command
        self.machine = machine
        self.results = results
    }

    /// The text under `### Latest`.
    public var latest: String {
        """
        - date: \(date)
        - commit: \(commit)
        - command: `\(command)`
        - machine: \(machine)

        \(MarkdownLines.trimmedLines(results).joined(separator: "\n"))
        """
    }
}
