import ArgumentParser
import NetnsLab

extension NetnsLabCommand {
    struct Capture: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "tcpdump inside a lab host or container, e.g. `netns-lab capture h1 udp port 8285`.")

        @Argument(help: "Where to capture (h1, h1c1, …)")
        var endpoint: String

        @Argument(help: "A tcpdump filter (optional), e.g. udp port 8285")
        var filter: [String] = []

        @Option(name: [.customShort("i"), .customLong("interface")], help: "The device (eth0, flannel0, docker0, veth1, …)")
        var device = "eth0"

        @Option(name: .shortAndLong, help: "Stop after this many packets")
        var count = 10

        @Option(help: "Stop after this many seconds at the latest")
        var seconds = 10

        @Option(name: .customLong("run"), help: "The lab's run tag (when several are up)")
        var runTag: String?

        func run() throws {
            try LabCommandSupport.requireRoot()
            let lab = try LabCommandSupport.select(runTag)
            let namespace = try LabCommandSupport.userFacing { try lab.namespace(of: endpoint) }
            let status = try CommandRunner.passthrough(namespace.command(
                ["timeout", String(seconds), "tcpdump", "-l", "-n", "-c", String(count), "-i", device] + filter))
            // timeout's 124: the time ran out before `count` packets, which is not an error.
            if status != 0 && status != 124 { throw ExitCode(status) }
        }
    }
}
