import ArgumentParser
import NetnsLab

extension NetnsLabCommand {
    struct Ping: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ping from one lab endpoint to another: hosts are h1, h2, …; containers h1c1, h2c1, …")

        @Argument(help: "Where the ping starts (h1c1, h1, …)")
        var from: String

        @Argument(help: "What it pings (h2c1, h2, …)")
        var to: String

        @Option(name: .shortAndLong, help: "Number of echo requests")
        var count = 3

        @Option(name: .customLong("run"), help: "The lab's run tag (when several are up)")
        var runTag: String?

        func run() throws {
            try LabCommandSupport.requireRoot()
            let lab = try LabCommandSupport.select(runTag)
            let source = try LabCommandSupport.userFacing { try lab.namespace(of: from) }
            let destination = try LabCommandSupport.userFacing { try lab.pingTarget(of: to) }
            print("\(from) → \(to) (\(destination)), in \(source):")
            let status = try CommandRunner.passthrough(source.command(["ping", "-c", String(count), "-W", "2", destination.description]))
            if status != 0 { throw ExitCode(status) }
        }
    }
}
