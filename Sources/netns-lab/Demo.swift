import ArgumentParser
import NetnsLab

extension NetnsLabCommand {
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Scenario S1 from nothing: two hosts, real agents, a ping across, the walkthrough's tables; then clean up.")

        @Flag(help: "Add docker's default masquerade rule on each host (the walkthrough's flannel0 row)")
        var dockerMasquerade = false

        @Option(help: "Path of the flanneld binary (default: next to netns-lab)")
        var flanneld: String?

        func run() throws {
            try LabCommandSupport.requireRoot()
            let binary = try LabCommandSupport.flanneld(flanneld)
            let names = LabNames()
            try LabCommandSupport.interruptible(run: names.run) {
                try SeedPingDemo(flanneld: binary, dockerMasquerade: dockerMasquerade) { print($0) }.run(names: names)
            }
        }
    }
}
