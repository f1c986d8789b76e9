/// One row of a Markdown pipe table: `| a | b |`, a `|` inside a cell escaped as `\|`.
public struct MarkdownTableRow: Equatable, Sendable {
    public var cells: [String]

    public init(_ cells: [String]) { self.cells = cells }

    /// The row a table line holds, or nil if the line is not a table line.
    public init?(line: some StringProtocol) {
        let text = MarkdownLines.trimmed(line)
        guard text.hasPrefix("|") else { return nil }
        var cells: [String] = []
        var cell = ""
        var escaped = false
        for character in text.dropFirst() {
            if escaped {
                // Only `\|` is ours; any other backslash stays as the author wrote it.
                if character != "|" { cell.append("\\") }
                cell.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "|" {
                cells.append(MarkdownLines.trimmed(cell))
                cell = ""
            } else {
                cell.append(character)
            }
        }
        if escaped { cell.append("\\") }
        // Text after the last `|` is a cell only when the line does not close with a `|`.
        if !MarkdownLines.isBlank(cell) { cells.append(MarkdownLines.trimmed(cell)) }
        self.cells = cells
    }

    /// The line, each cell on one line with its `|` escaped.
    public var line: String {
        let escaped = cells.map { cell in
            var text = ""
            for character in cell {
                switch character {
                case "|": text += "\\|"
                case "\n", "\r": text += " "
                default: text.append(character)
                }
            }
            return text
        }
        return "| " + escaped.joined(separator: " | ") + " |"
    }

    /// The line under a header row: `|---|---|`.
    public static func separator(columns: Int) -> String {
        "|" + String(repeating: "---|", count: columns)
    }

    /// Whether `line` is a header's separator line (`|---|:--:|`).
    static func isSeparator(_ line: some StringProtocol) -> Bool {
        guard let row = MarkdownTableRow(line: line), !row.cells.isEmpty else { return false }
        return row.cells.allSatisfy { cell in !cell.isEmpty && cell.allSatisfy { $0 == "-" || $0 == ":" } }
    }
}
