/// Reports of several binaries side by side, as markdown: a row per scenario, a column per
/// binary, and each failure in full below (what was expected, what happened).
public enum ConformanceTable {
    public static func markdown(_ reports: [ConformanceReport]) -> String {
        guard let first = reports.first else { return "" }
        var lines = ["| scenario | from | " + reports.map(\.subject.name).joined(separator: " | ") + " |",
                     "|---|---|" + String(repeating: "---|", count: reports.count)]
        for (index, (scenario, _)) in first.verdicts.enumerated() {
            let cells = reports.map { $0.verdicts.indices.contains(index) ? $0.verdicts[index].1.cell : "-" }
            lines.append("| \(scenario.id) | \(scenario.origin) | " + cells.joined(separator: " | ") + " |")
        }
        lines.append("| passed | | " + reports.map { "\($0.passed) of \($0.verdicts.count)" }.joined(separator: " | ") + " |")
        let details = reports.flatMap { report in
            report.verdicts.filter { !$0.1.isPass }.map { "- **\(report.subject.name), \($0.0.id):** \($0.1)" }
        }
        if !details.isEmpty { lines += ["", "Failures and N/A, in full:", ""] + details }
        return lines.joined(separator: "\n")
    }
}
