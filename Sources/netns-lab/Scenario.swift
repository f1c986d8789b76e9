import ArgumentParser
import Foundation
import NetnsLab

extension NetnsLabCommand {
    struct Scenario: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run scenarios of SCENARIOS.md on real hosts (namespaces, etcd, flanneld) and print a report for each.",
            discussion: "Each builds its own lab and removes it afterwards. The ids and names are the simulator's (flannel-sim run <name>).")

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
                for scenario in LabScenario.catalogue { print("\(scenario.id.padding(toLength: 4, withPad: " ", startingAt: 0)) \(scenario.name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(scenario.summary)") }
                if !list { print("\nrun one with: netns-lab scenario <id or name> (or 'all')") }
                return
            }
            var chosen: [LabScenario] = []
            for text in scenarios {
                if text == "all" { chosen += LabScenario.catalogue; continue }
                guard let scenario = LabScenario.named(text) else {
                    throw LabCommandError("no scenario '\(text)'; netns-lab scenario --list shows them (\(LabScenario.catalogue.map(\.id).joined(separator: ", ")))")
                }
                chosen.append(scenario)
            }
            try LabCommandSupport.requireRoot()
            let binary = try LabCommandSupport.flanneld(flanneld)
            var reports: [LabScenarioReport] = []
            for scenario in chosen {
                let names = LabNames()
                let report = try LabCommandSupport.interruptible(run: names.run) {
                    scenario.run(flanneld: binary, names: names) { say($0) }
                }
                if LabInterruption.isRaised {
                    say("interrupted: removed the lab \(names.run)")
                    throw ExitCode(130)
                }
                if let error = report.error { say("  ✘ stopped: \(error)") }
                if !report.passed && !report.logTails.isEmpty {
                    say("  agent logs (last lines):")
                    report.logTails.forEach { say("    \($0)") }
                }
                say(report.description.split(separator: "\n").last.map(String.init) ?? "")
                say("")
                reports.append(report)
            }
            if reports.count > 1 {
                say("summary:")
                for report in reports { say("  \(report.passed ? "✔" : "✘") \(report.id) \(report.name)") }
            }
            if reports.contains(where: { !$0.passed }) { throw ExitCode(1) }
        }
    }
}
