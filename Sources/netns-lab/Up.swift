import ArgumentParser
import Foundation
import NetnsLab

extension NetnsLabCommand {
    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a lab (etcd, hosts running flanneld, containers) and leave it running; `netns-lab down` removes it.")

        @Option(help: "Number of hosts (1–200)")
        var hosts = 2

        @Option(help: "Containers per host")
        var containers = 1

        @Option(help: "The network config written to /coreos.com/network/config")
        var config = #"{ "Network": "10.1.0.0/16" }"#

        @Option(help: "Path of the flanneld binary (default: next to netns-lab)")
        var flanneld: String?

        @Option(name: .customLong("flanneld-arg"), help: "An extra flanneld argument (repeatable), e.g. --flanneld-arg=-v=1")
        var flanneldArguments: [String] = []

        func validate() throws {
            guard (1...200).contains(hosts) else { throw ValidationError("--hosts must be between 1 and 200 (underlay 192.0.2.11…), got \(hosts)") }
            guard (0...50).contains(containers) else { throw ValidationError("--containers must be between 0 and 50, got \(containers)") }
        }

        func run() throws {
            try LabCommandSupport.requireRoot()
            var bringUp = LabBringUp(flanneld: try LabCommandSupport.flanneld(flanneld))
            bringUp.hosts = hosts
            bringUp.containersPerHost = containers
            bringUp.networkConfig = config
            bringUp.agentArguments = flanneldArguments
            let names = LabNames()
            let sources = LabCommandSupport.cleanUpOnSignals(run: names.run)
            let result = try bringUp.run(names: names) { print($0) }
            sources.forEach { $0.cancel() }
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
            print("")
            print(try LabCommandSupport.select(result.lab.names.run).status())
            print("")
            let first = containers > 0 && hosts > 1 ? "netns-lab ping h1c1 h2c1" : "netns-lab status"
            print("lab \(result.lab.names.run) is up; try `\(first)`; logs in \(result.lab.directory.path)/h*/flanneld.log; remove it with `netns-lab down`")
        }
    }

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

    struct Clean: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove every namespace, process and file that any lab run left behind (only names of the form fl<6 hex>-…).")

        func run() throws {
            try LabCommandSupport.requireRoot()
            let removed = Lab.clean()
            print(removed.isEmpty ? "nothing to clean" : "removed \(removed.joined(separator: ", "))")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the labs that are up: etcd, each host's agent, subnet, flannel0 and containers, and the leases.")

        @Option(name: .customLong("run"), help: "Only this lab (run tag)")
        var runTag: String?

        func run() throws {
            try LabCommandSupport.requireRoot()
            let labs = runTag == nil ? RunningLab.all() : [try LabCommandSupport.select(runTag)]
            if labs.isEmpty { print("no lab is up; start one with `netns-lab up`") }
            print(labs.map { $0.status() }.joined(separator: "\n\n"))
        }
    }

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
            let source = try wrapped { try lab.namespace(of: from) }
            let destination = try wrapped { try lab.address(of: to) }
            print("\(from) → \(to) (\(destination)), in \(source):")
            let status = try CommandRunner.passthrough(source.command(["ping", "-c", String(count), "-W", "2", destination.description]))
            if status != 0 { throw ExitCode(status) }
        }
    }

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
            let namespace = try wrapped { try lab.namespace(of: endpoint) }
            let status = try CommandRunner.passthrough(namespace.command(
                ["timeout", String(seconds), "tcpdump", "-l", "-n", "-c", String(count), "-i", device] + filter))
            // timeout's 124: the time ran out before `count` packets, which is not an error.
            if status != 0 && status != 124 { throw ExitCode(status) }
        }
    }
}

/// A lab lookup error as a command-line error (its message, no stack of types).
func wrapped<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as RunningLab.SelectionError {
        throw LabCommandError(error.description)
    }
}
