import BenchRecord
import Foundation
import Testing

@Suite("BENCHMARKS.md as a record: latest run replaced, history appended")
struct BenchmarkRecordTests {
    static let header = ["date", "commit", "figure", "what changed"]

    static let document = """
        # Benchmarks

        Intro.

        ## alpha

        What alpha measures.

        ### Latest

        - date: 1
        - commit: aaa

        | path | figure |
        |---|---|
        | ours | 1.0 |

        ### History

        | date | commit | figure | what changed |
        |---|---|---|---|
        | 1 | aaa | 1.0 | first run |

        ## beta

        ### Latest

        beta's run, with a code block:

        ```
        ## not a heading
        ### Latest
        ```

        ### History

        | date | commit | figure | what changed |
        |---|---|---|---|
        | 1 | bbb | 2.0 | first run |

        ## gamma

        ### Latest

        gamma's run

        ### History

        | date | commit | figure | what changed |
        |---|---|---|---|
        | 1 | ccc | 3.0 | |

        """

    static let realRecord = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("BENCHMARKS.md")

    /// The text before and after a section (up to the next section's heading, which a code
    /// block's `## ` line is not), to compare with the same outside a changed one.
    static func outside(_ section: String, of markdown: String) -> (before: String, after: String) {
        let start = markdown.range(of: "\n## \(section)\n")!.lowerBound
        let sections = BenchmarkRecord.sections(in: markdown)
        let next = sections.firstIndex(of: section).map { $0 + 1 }.flatMap { $0 < sections.count ? sections[$0] : nil }
        let end = next.flatMap { markdown.range(of: "\n## \($0)\n")?.lowerBound } ?? markdown.endIndex
        return (String(markdown[..<start]), String(markdown[end...]))
    }

    @Test func replacingLatestKeepsEveryOtherSectionByteForByte() {
        let updated = BenchmarkRecord.updating(Self.document, section: "beta", latest: "beta's second run\n\n| a |\n|---|\n| b |",
                                               historyHeader: Self.header, historyRows: [["2", "bbc", "2.5", ""]])
        #expect(Self.outside("beta", of: updated) == Self.outside("beta", of: Self.document), "alpha and gamma as they were")
        #expect(BenchmarkRecord.latest(in: updated, section: "beta") == "beta's second run\n\n| a |\n|---|\n| b |")
        #expect(!updated.contains("## not a heading"), "the old Latest, code block and all, is gone")
        #expect(BenchmarkRecord.latest(in: updated, section: "alpha") == BenchmarkRecord.latest(in: Self.document, section: "alpha"))
        #expect(updated.contains("\n\nbeta's second run\n\n| a |\n|---|\n| b |\n\n### History\n\n"), "one blank line either side of the run")
    }

    @Test func historyRowsAreAppendedOldestFirst() throws {
        var markdown = Self.document
        for run in 2...4 {
            markdown = BenchmarkRecord.updating(markdown, section: "alpha", latest: "run \(run)", historyHeader: Self.header,
                                                historyRows: [["\(run)", "a\(run)", "1.\(run)", ""]])
        }
        let history = try #require(BenchmarkRecord.history(in: markdown, section: "alpha"))
        #expect(history.header == Self.header)
        #expect(history.rows.map(\.[0]) == ["1", "2", "3", "4"])
        #expect(history.rows[0] == ["1", "aaa", "1.0", "first run"], "hand-kept rows stay as they were")
        #expect(history.rows[3] == ["4", "a4", "1.4", ""])
        #expect(markdown.contains("| 1 | aaa | 1.0 | first run |\n| 2 | a2 | 1.2 |  |\n| 3 | a3 | 1.3 |  |\n| 4 | a4 | 1.4 |  |\n\n## beta"))
    }

    @Test func severalRowsOfOneRunKeepTheirOrder() throws {
        let updated = BenchmarkRecord.updating(Self.document, section: "gamma", latest: "sizes", historyHeader: Self.header,
                                               historyRows: [["2", "ccd", "1000 hosts", ""], ["2", "ccd", "10000 hosts", ""]])
        let history = try #require(BenchmarkRecord.history(in: updated, section: "gamma"))
        #expect(history.rows.map(\.[2]) == ["3.0", "1000 hosts", "10000 hosts"])
        #expect(updated.hasSuffix("| 2 | ccd | 10000 hosts |  |\n"), "the last section's table ends the file, with its newline")
    }

    @Test func aMissingSectionIsCreatedAtTheEnd() throws {
        let updated = BenchmarkRecord.updating(Self.document, section: "delta", latest: "delta's first run",
                                               historyHeader: Self.header, historyRows: [["1", "ddd", "4.0", ""]])
        #expect(updated.hasPrefix(Self.document), "nothing before it changes")
        #expect(BenchmarkRecord.sections(in: updated) == ["alpha", "beta", "gamma", "delta"])
        #expect(BenchmarkRecord.latest(in: updated, section: "delta") == "delta's first run")
        let history = try #require(BenchmarkRecord.history(in: updated, section: "delta"))
        #expect(history.header == Self.header)
        #expect(history.rows == [["1", "ddd", "4.0", ""]])
        #expect(updated.hasSuffix("""

            ## delta

            ### Latest

            delta's first run

            ### History

            | date | commit | figure | what changed |
            |---|---|---|---|
            | 1 | ddd | 4.0 |  |

            """))
    }

    @Test func aMissingFileStartsFromTheEmptyRecord() throws {
        let updated = BenchmarkRecord.updating(BenchmarkRecord.emptyDocument, section: "alpha", latest: "run",
                                               historyHeader: Self.header, historyRows: [["1", "a", "1", ""]])
        #expect(updated.hasPrefix("# Benchmarks\n"))
        #expect(BenchmarkRecord.sections(in: updated) == ["alpha"])
        #expect(try #require(BenchmarkRecord.history(in: updated, section: "alpha")).rows.count == 1)
        #expect(BenchmarkRecord.updating("", section: "alpha", latest: "run", historyHeader: Self.header, historyRows: [])
            .hasPrefix("## alpha\n\n### Latest\n\nrun\n\n### History\n\n| date |"))
    }

    @Test func missingSubsectionsAreAddedInsideTheSection() throws {
        let bare = "# B\n\n## alpha\n\nPreamble.\n\n## beta\n\nbeta's text\n"
        let updated = BenchmarkRecord.updating(bare, section: "alpha", latest: "run", historyHeader: Self.header, historyRows: [["1", "a", "1", ""]])
        #expect(updated == """
            # B

            ## alpha

            Preamble.

            ### Latest

            run

            ### History

            | date | commit | figure | what changed |
            |---|---|---|---|
            | 1 | a | 1 |  |

            ## beta

            beta's text

            """)
        let historyOnly = "## alpha\n\n### History\n\n| date | commit | figure | what changed |\n|---|---|---|---|\n"
        let withLatest = BenchmarkRecord.updating(historyOnly, section: "alpha", latest: "run", historyHeader: Self.header, historyRows: [])
        #expect(withLatest == "## alpha\n\n### Latest\n\nrun\n\n" + historyOnly.dropFirst("## alpha\n\n".count), "Latest goes before History")
    }

    @Test func newColumnsStartANewTableUnderTheOldOne() throws {
        let newHeader = ["date", "commit", "figure", "another", "what changed"]
        let updated = BenchmarkRecord.updating(Self.document, section: "alpha", latest: "run", historyHeader: newHeader,
                                               historyRows: [["2", "a2", "1.1", "x", ""]])
        #expect(updated.contains("| 1 | aaa | 1.0 | first run |\n\n| date | commit | figure | another | what changed |\n|---|---|---|---|---|\n| 2 | a2 | 1.1 | x |  |\n\n## beta"))
        let history = try #require(BenchmarkRecord.history(in: updated, section: "alpha"))
        #expect(history.header == newHeader, "the last table is the History's current one")
        #expect(history.rows == [["2", "a2", "1.1", "x", ""]])
    }

    @Test func cellsKeepTheirPipesAndLoseTheirNewlines() {
        let row = MarkdownTableRow(["a | b", "two\nlines", "", "c\\d"])
        #expect(row.line == "| a \\| b | two lines |  | c\\d |")
        #expect(MarkdownTableRow(line: row.line)?.cells == ["a | b", "two lines", "", "c\\d"])
        #expect(MarkdownTableRow(line: "not a row") == nil)
        #expect(MarkdownTableRow.separator(columns: 3) == "|---|---|---|")
    }

    @Test func aRunIsDatedAndAttributed() {
        let run = BenchmarkRun(date: "2026-12-01T10:00:00 UTC", commit: " abc1234\n", command: "netns-lab bench --backend udp",
                               machine: "release build, kernel 6.18, 2 CPUs", results: "\nMedians of 3 passes.\n\n| t |\n|---|\n")
        #expect(run.latest == """
            - date: 2026-12-01T10:00:00 UTC
            - commit: abc1234
            - command: `netns-lab bench --backend udp`
            - machine: release build, kernel 6.18, 2 CPUs

            Medians of 3 passes.

            | t |
            |---|
            """)
        #expect(BenchmarkRun(date: "d", commit: nil, command: "c", machine: "m", results: "r").commit == "unknown")
        #expect(BenchmarkRun(date: "d", commit: "", command: "c", machine: "m", results: "r").commit == "unknown")
    }

    @Test("no file in Sources/BenchRecord imports a module: the record's text is pure string work")
    func importsNothing() throws {
        let sources = Self.realRecord.deletingLastPathComponent().appendingPathComponent("Sources/BenchRecord")
        let files = try FileManager.default.contentsOfDirectory(atPath: sources.path).filter { $0.hasSuffix(".swift") }
        #expect(files.count >= 4, "the sources were found")
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            // `import X`, `@testable import X`, `import struct X.Y`…, not the word in a comment.
            let imports = text.split(separator: "\n").filter { line in
                let words = line.drop { $0 == " " }.split(separator: " ")
                return words.firstIndex(of: "import").map { words[..<$0].allSatisfy { $0.hasPrefix("@") } } ?? false
            }
            #expect(imports.isEmpty, "BenchRecord imports nothing, not even Foundation")
        }
    }

    // MARK: - The real BENCHMARKS.md

    @Test func theRealRecordRoundTrips() throws {
        let markdown = try String(contentsOf: Self.realRecord, encoding: .utf8)
        let sections = BenchmarkRecord.sections(in: markdown)
        #expect(sections == ["udp backend", "udp backend, RTT only", "vxlan backend", "host-gw backend", "wireguard backend, beside the others",
                             "simulator scale (S13)", "large registry", "package", "control plane at 50 hosts"])
        for section in sections {
            let latest = try #require(BenchmarkRecord.latest(in: markdown, section: section), "every section has a Latest")
            let history = try #require(BenchmarkRecord.history(in: markdown, section: section), "every section has a History")
            #expect(BenchmarkRecord.updating(markdown, section: section, latest: latest, historyHeader: history.header, historyRows: []) == markdown,
                    "rewriting a section with its own Latest and no new row changes no byte: the file is in the tools' format")
            #expect(history.rows.allSatisfy { $0.count == history.header.count }, "every History row has a cell per column")
        }
    }

    @Test func theRealRecordHasTheColumnsTheToolsWrite() throws {
        let markdown = try String(contentsOf: Self.realRecord, encoding: .utf8)
        for benchmark in RecordedBenchmark.all {
            let history = try #require(BenchmarkRecord.history(in: markdown, section: benchmark.section))
            #expect(history.header == benchmark.historyHeader, "a run appends to this table instead of starting a new one")
            let latest = try #require(BenchmarkRecord.latest(in: markdown, section: benchmark.section))
            #expect(latest.hasPrefix("- date: "), "Latest opens as BenchmarkRun writes it")
        }
    }

    @Test func recordingARunInTheRealRecordChangesOnlyItsSection() throws {
        let markdown = try String(contentsOf: Self.realRecord, encoding: .utf8)
        let run = BenchmarkRun(date: "2027-01-01T00:00:00 UTC", commit: "abc1234", command: "netns-lab bench --backend udp --rtt-only",
                               machine: "release build, kernel 6.18.44-fc-v669, 2 CPUs", results: "RTT side by side: met")
        let benchmark = RecordedBenchmark.udpRTTOnly
        let figures = ["24", "-1.0 µs", "0.230 vs 0.231 ms", "0.180 vs 0.181 ms", "met"]
        let updated = benchmark.recording(run, figures: [figures], in: markdown)

        #expect(Self.outside(benchmark.section, of: updated) == Self.outside(benchmark.section, of: markdown))
        #expect(BenchmarkRecord.latest(in: updated, section: benchmark.section) == run.latest)
        let before = try #require(BenchmarkRecord.history(in: markdown, section: benchmark.section))
        let after = try #require(BenchmarkRecord.history(in: updated, section: benchmark.section))
        #expect(after.rows == before.rows + [[run.date, run.commit] + figures + [""]])
        let preamble = { (text: String) in text.components(separatedBy: "## \(benchmark.section)\n")[1].components(separatedBy: "### Latest")[0] }
        #expect(preamble(updated) == preamble(markdown), "the hand-kept text above Latest stays")
        #expect(BenchmarkRecord.updating(updated, section: benchmark.section, latest: run.latest, historyHeader: benchmark.historyHeader,
                                         historyRows: []) == updated, "and the result is in the same format")
    }
}
