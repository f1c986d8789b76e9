/// BENCHMARKS.md as a record rather than a journal: one `## <benchmark>` section per benchmark,
/// holding `### Latest` (the newest run in full) and `### History` (a table, one row of headline
/// figures per run, oldest first). Recording a run replaces that section's Latest, appends its
/// rows to the History table and leaves every other line of the file as it was; text before
/// `### Latest` (what the benchmark measures, links to notes) is the author's and stays.
///
/// Pure string work, no Foundation: the bench tools read and write the file, this decides its text.
public enum BenchmarkRecord {
    public static let latestTitle = "Latest"
    public static let historyTitle = "History"

    /// What a record starts as when the file does not exist yet.
    public static let emptyDocument = """
        # Benchmarks

        The latest run of each benchmark in full, with the command, commit and machine that
        produced it, and a history of past headline figures.

        """

    /// `markdown` with the section `section` recording a run: its Latest replaced by `latest`,
    /// `historyRows` appended to its History table. A section, subsection or table that is not
    /// there yet is created (a new section at the end). When the History's last table has other
    /// columns than `historyHeader`, a new table starts under it, so that no row lands under
    /// headings that do not describe it.
    public static func updating(_ markdown: String, section: String, latest: String,
                                historyHeader: [String], historyRows: [[String]]) -> String {
        var document = MarkdownLines(markdown)
        let latestLines = MarkdownLines.trimmedLines(latest)
        let table = [MarkdownTableRow(historyHeader).line, MarkdownTableRow.separator(columns: historyHeader.count)]
            + historyRows.map { MarkdownTableRow($0).line }
        guard let found = document.part(titled: section, level: 2, within: 0..<document.lines.count) else {
            let subsections = ["### \(latestTitle)", ""] + latestLines + ["", "### \(historyTitle)", ""] + table
            document.insert(block: ["## \(section)", ""] + subsections, at: document.lines.count)
            document.endsWithNewline = true
            return document.text
        }
        let sectionLines = found.heading + 1..<found.end

        if let old = document.part(titled: latestTitle, level: 3, within: sectionLines) {
            // One blank line on either side of the run; none at the very end of the file.
            let trailer = old.end < document.lines.count ? [""] : []
            document.lines.replaceSubrange(old.heading + 1..<old.end, with: [""] + latestLines + trailer)
        } else {
            let history = document.part(titled: historyTitle, level: 3, within: sectionLines)
            document.insert(block: ["### \(latestTitle)", ""] + latestLines, at: history?.heading ?? found.end)
        }

        let updated = document.part(titled: section, level: 2, within: 0..<document.lines.count)!
        let withLatest = updated.heading + 1..<updated.end
        guard let history = document.part(titled: historyTitle, level: 3, within: withLatest) else {
            document.insert(block: ["### \(historyTitle)", ""] + table, at: document.endOfText(in: withLatest))
            return document.text
        }
        let historyLines = history.heading + 1..<history.end
        if let last = lastTable(in: historyLines, of: document),
           MarkdownTableRow(line: document.lines[last.lowerBound])?.cells == MarkdownTableRow(historyHeader).cells {
            document.lines.insert(contentsOf: historyRows.map { MarkdownTableRow($0).line }, at: last.upperBound)
        } else {
            document.insert(block: table, at: document.endOfText(in: historyLines))
        }
        return document.text
    }

    /// The names of the `##` sections, in order.
    public static func sections(in markdown: String) -> [String] {
        MarkdownLines(markdown).headings.filter { $0.level == 2 }.map(\.title)
    }

    /// The section's Latest run as recorded, without the blank lines around it.
    public static func latest(in markdown: String, section: String) -> String? {
        let document = MarkdownLines(markdown)
        guard let found = document.part(titled: section, level: 2, within: 0..<document.lines.count),
              let latest = document.part(titled: latestTitle, level: 3, within: found.heading + 1..<found.end) else { return nil }
        return MarkdownLines.trimmedLines(document.lines[latest.heading + 1..<latest.end].joined(separator: "\n"))
            .joined(separator: "\n")
    }

    /// The section's History table, the last one if a change of columns started another:
    /// its header and its rows, oldest first.
    public static func history(in markdown: String, section: String) -> (header: [String], rows: [[String]])? {
        let document = MarkdownLines(markdown)
        guard let found = document.part(titled: section, level: 2, within: 0..<document.lines.count),
              let history = document.part(titled: historyTitle, level: 3, within: found.heading + 1..<found.end),
              let table = lastTable(in: history.heading + 1..<history.end, of: document) else { return nil }
        let rows = document.lines[table].compactMap { MarkdownTableRow(line: $0) }
        guard let header = rows.first else { return nil }
        let body = document.lines[table].dropFirst().filter { !MarkdownTableRow.isSeparator($0) }
        return (header.cells, body.compactMap { MarkdownTableRow(line: $0)?.cells })
    }

    /// The lines of the last table (consecutive `|` lines outside code blocks) in `range`.
    static func lastTable(in range: Range<Int>, of document: MarkdownLines) -> Range<Int>? {
        var last: Range<Int>?
        var start: Int?
        var fenced = false
        for index in range {
            let code = document.lines[index].drop { $0 == " " }
            if code.hasPrefix("```") || code.hasPrefix("~~~") { fenced.toggle() }
            let isRow = !fenced && code.hasPrefix("|")
            if isRow, start == nil { start = index }
            if !isRow, let first = start {
                last = first..<index
                start = nil
            }
        }
        if let first = start { last = first..<range.upperBound }
        return last
    }
}
