import ArgumentParser
import Foundation
import NetnsLab

/// The lab's command line: fake hosts from network namespaces, real etcd and real agents.
@main
struct NetnsLabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netns-lab",
        abstract: "Fake container hosts from network namespaces, with real etcd and real flanneld agents.",
        subcommands: [Demo.self, Clean.self])

    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Scenario S1 from nothing: two hosts, real agents, a ping across, the walkthrough's tables; then clean up.")

        @Flag(help: "Add docker's default masquerade rule on each host (the walkthrough's flannel0 row)")
        var dockerMasquerade = false

        @Option(help: "Path of the flanneld binary (default: next to netns-lab)")
        var flanneld: String?

        func run() throws {
            guard getuid() == 0 else {
                throw ValidationError("netns-lab needs root (network namespaces): sudo lab/demo")
            }
            let binary = flanneld ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
                .deletingLastPathComponent().appendingPathComponent("flanneld").path
            guard FileManager.default.isExecutableFile(atPath: binary) else {
                throw ValidationError("flanneld not found at \(binary); build it (swift build) or pass --flanneld")
            }
            // Ctrl-C and SIGTERM still clean up: this run's namespaces are removed on the way out.
            let names = LabNames()
            let sources = [SIGINT, SIGTERM].map { number -> DispatchSourceSignal in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    Lab.clean(run: names.run)
                    print("interrupted: removed the lab \(names.run)")
                    Foundation.exit(130)
                }
                source.resume()
                return source
            }
            defer { sources.forEach { $0.cancel() } }
            try SeedPingDemo(flanneld: binary, dockerMasquerade: dockerMasquerade) { print($0) }.run(names: names)
        }
    }

    struct Clean: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove every namespace (and the processes in it) that a lab run left behind.")

        func run() throws {
            let removed = Lab.clean()
            print(removed.isEmpty ? "nothing to clean" : "removed \(removed.joined(separator: ", "))")
        }
    }
}
