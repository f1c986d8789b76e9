import ArgumentParser
import Foundation
import NetnsLab

extension NetnsLabCommand {
    struct Conformance: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the conformance scenarios against a flanneld binary (ours or upstream's): PASS, FAIL with the check, or N/A.",
            discussion: """
                Each scenario gets a fresh lab; the binary runs on every host. Checks go through etcd, the kernel and pings,
                never the agent's log, so any release can take them (0.7.0 on etcd's v2 API, found from --version).
                  netns-lab conformance --flanneld ../shared/upstream/flanneld-0.20.2
                  netns-lab conformance --flanneld .build/debug/flanneld --scenario watch-burst
                  netns-lab conformance --flanneld A --flanneld B --flanneld C --markdown   (side by side)
                  netns-lab conformance --list
                """)

        @Option(help: "Path of a flanneld binary under test (repeatable: one column each; default: ours, next to netns-lab)")
        var flanneld: [String] = []

        @Flag(help: "End with the markdown table of every binary side by side (docs/CONFORMANCE.md)")
        var markdown = false

        @Option(name: .customLong("scenario"), help: "Run only this scenario (repeatable; see --list)")
        var scenarios: [String] = []

        @Flag(help: "List the scenarios and exit")
        var list = false

        func validate() throws {
            let known = Set(ConformanceCase.catalogue.map(\.id))
            for name in scenarios where !known.contains(name) {
                throw ValidationError("--scenario \(name) is not a conformance scenario; use one of \(known.sorted().joined(separator: ", "))")
            }
        }

        func run() throws {
            if list {
                for scenario in ConformanceCase.catalogue { print("\(scenario.id.padding(toLength: 22, withPad: " ", startingAt: 0)) \(scenario.origin.padding(toLength: 6, withPad: " ", startingAt: 0)) \(scenario.summary)") }
                return
            }
            try LabCommandSupport.requireRoot()
            let binaries = flanneld.isEmpty ? [try LabCommandSupport.flanneld(nil)] : try flanneld.map { try LabCommandSupport.flanneld($0) }
            let cases = scenarios.isEmpty ? ConformanceCase.catalogue : ConformanceCase.catalogue.filter { scenarios.contains($0.id) }
            var reports: [ConformanceReport] = []
            for binary in binaries {
                let subject = try ConformanceSubject.detect(binary: binary)
                print("conformance of \(subject.name) (\(binary)), etcd \(subject.etcdV2 ? "v2" : "v3") API, \(cases.count) scenarios")
                var report = ConformanceReport(subject: subject)
                for scenario in cases {
                    let names = LabNames()
                    let verdict = try LabCommandSupport.interruptible(run: names.run) { ConformanceReport.run(scenario, subject, names: names) }
                    print("\(scenario.id) (\(scenario.origin)): \(verdict)")
                    report.verdicts.append((scenario, verdict))
                }
                print("\(report.passed) of \(report.verdicts.count) passed")
                reports.append(report)
            }
            if markdown {
                print("")
                print(ConformanceTable.markdown(reports))
            }
        }
    }
}
