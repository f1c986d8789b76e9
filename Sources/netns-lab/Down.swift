import ArgumentParser
import NetnsLab

extension NetnsLabCommand {
    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a lab's processes and remove its namespaces and files (the only lab up, or --run).")

        @Option(name: .customLong("run"), help: "The lab's run tag (see `netns-lab status`)")
        var runTag: String?

        func run() throws {
            try LabCommandSupport.requireRoot()
            let lab = try LabCommandSupport.select(runTag)
            let removed = Lab.clean(run: lab.run)
            print("removed the lab \(lab.run): \(removed.count) namespaces and directories")
        }
    }
}
