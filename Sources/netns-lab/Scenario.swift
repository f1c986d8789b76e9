import ArgumentParser
import ClusterScenarios
import Foundation
import NetnsLab

extension NetnsLabCommand {
    struct Scenario: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run scenarios of SCENARIOS.md on real hosts (namespaces, etcd, flanneld) and print a report for each.",
            discussion: "Each builds its own lab and removes it afterwards. One catalogue with the simulator: `flannel-sim run <name>` runs the same body on virtual time and prints the same report.")

        @Argument(help: "Scenario ids or names (S4, subnet-taken-drift), or 'all'")
        var scenarios: [String] = []

        @Flag(help: "List the scenarios")
        var list = false

        @Option(help: "Path of the flanneld binary (default: next to netns-lab)")
        var flanneld: String?

        /// Unbuffered: reports are read as they happen, also through a pipe or in a file.
        func say(_ line: String) {
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }

        func run() throws {
            if list && !scenarios.isEmpty {
                throw LabCommandError("--list takes no scenario names; run `netns-lab scenario \(scenarios.joined(separator: " "))` to run them")
            }
            if list || scenarios.isEmpty {
                for line in ScenarioListing.lines(for: .lab) { print(line) }
                return
            }
            var chosen: [ClusterScenarios.Scenario] = []
            for text in scenarios {
                if text == "all" { chosen += ClusterScenarios.Scenario.catalogue.filter { $0.runs(in: .lab) && $0.isShared }; continue }
                guard let scenario = ClusterScenarios.Scenario.named(text) else {
                    throw LabCommandError("no scenario '\(text)'; netns-lab scenario --list shows them (\(ClusterScenarios.Scenario.catalogue.map(\.id).joined(separator: ", ")))")
                }
                guard scenario.isShared else {
                    throw LabCommandError("\(scenario.name) runs in the \(scenario.worlds)")
                }
                chosen.append(scenario)
            }
            try LabCommandSupport.requireRoot()
            let binary = try LabCommandSupport.flanneld(flanneld)
            var reports: [ScenarioReport] = []
            for scenario in chosen {
                let names = LabNames()
                let report = try LabCommandSupport.interruptible(run: names.run) {
                    LabCluster.run(scenario, flanneld: binary, names: names) { say($0) }
                }
                if LabInterruption.isRaised {
                    say("interrupted: removed the lab \(names.run)")
                    throw ExitCode(130)
                }
                say("")
                say(report.description)
                say("")
                reports.append(report)
            }
            if reports.count > 1 {
                say("summary:")
                for report in reports { say("  \(report.passed ? "✔" : "✘") \(report.id) \(report.name) (\(report.duration.secondsText))") }
            }
            if reports.contains(where: { !$0.passed }) { throw ExitCode(1) }
        }
    }
}
