/// A Markdown text as lines, with its headings found the way a reader sees them (never inside
/// a fenced code block), so that one part can be replaced and every other byte kept.
struct MarkdownLines {
    var lines: [String]
    /// Whether the text ended with a newline; kept as it was when the text is put back together.
    var endsWithNewline: Bool

    init(_ text: String) {
        var parts = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        endsWithNewline = text.hasSuffix("\n")
        if endsWithNewline || text.isEmpty { parts.removeLast() }
        lines = parts
    }

    var text: String { lines.joined(separator: "\n") + (endsWithNewline ? "\n" : "") }

    struct Heading: Equatable {
        var index: Int
        var level: Int
        var title: String
    }

    /// Every ATX heading (`## title`) outside fenced code blocks, in order.
    var headings: [Heading] {
        var found: [Heading] = []
        var fenced = false
        for (index, line) in lines.enumerated() {
            let code = line.drop { $0 == " " }
            if code.hasPrefix("```") || code.hasPrefix("~~~") {
                fenced.toggle()
                continue
            }
            guard !fenced, line.hasPrefix("#") else { continue }
            let level = line.prefix { $0 == "#" }.count
            let rest = line.dropFirst(level)
            guard level <= 6, rest.first == " " else { continue }
            found.append(Heading(index: index, level: level, title: Self.trimmed(rest)))
        }
        return found
    }

    /// The lines after the heading titled `title` at `level` within `bounds`, up to the next
    /// heading of that level or a higher one: (the heading's index, the end of its content).
    func part(titled title: String, level: Int, within bounds: Range<Int>) -> (heading: Int, end: Int)? {
        let inside = headings.filter { bounds.contains($0.index) }
        guard let heading = inside.first(where: { $0.level == level && $0.title == title }) else { return nil }
        let end = inside.first { $0.index > heading.index && $0.level <= level }?.index ?? bounds.upperBound
        return (heading.index, end)
    }

    /// Inserts `block` at `index` with a blank line on each side that has text next to it.
    mutating func insert(block: [String], at index: Int) {
        var padded = block
        if index > 0, !Self.isBlank(lines[index - 1]) { padded.insert("", at: 0) }
        if index < lines.count, !Self.isBlank(lines[index]) { padded.append("") }
        lines.insert(contentsOf: padded, at: index)
    }

    /// The index just past the last line in `range` with text on it (`range.lowerBound` if none).
    func endOfText(in range: Range<Int>) -> Int {
        range.reversed().first { !Self.isBlank(lines[$0]) }.map { $0 + 1 } ?? range.lowerBound
    }

    static func isBlank(_ line: some StringProtocol) -> Bool { line.allSatisfy(\.isWhitespace) }

    static func trimmed(_ text: some StringProtocol) -> String {
        String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }

    /// `text` as lines without the blank lines around it.
    static func trimmedLines(_ text: String) -> [String] {
        var parts = MarkdownLines(text).lines
        while let first = parts.first, isBlank(first) { parts.removeFirst() }
        while let last = parts.last, isBlank(last) { parts.removeLast() }
        return parts
    }
}
