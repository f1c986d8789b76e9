import ArgumentParser
import Foundation
import NetnsLab

/// The lab's command line: fake hosts from network namespaces, real etcd and real agents.
@main
struct NetnsLabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netns-lab",
        abstract: "Fake container hosts from network namespaces, with real etcd and real flanneld agents.",
        discussion: """
            A quick tour:
              netns-lab demo                 S1 from nothing: two hosts, a ping across, the walkthrough's tables
              netns-lab up --hosts 3         build a lab and leave it running
              netns-lab status               hosts, agents, subnets, flannel0, containers, leases
              netns-lab ping h1c1 h2c1       ping from h1's first container to h2's
              netns-lab capture h1 udp port 8285   tcpdump on h1's eth0
              netns-lab down                 remove the lab
              netns-lab bench                throughput, RTT, loss and CPU per data path
              netns-lab clean                remove whatever any lab run left behind
            """,
        subcommands: [Demo.self, Up.self, Status.self, Ping.self, Capture.self, Down.self, Clean.self, Bench.self, PlainLoop.self])
}

/// What every command that builds labs needs.
enum LabCommandSupport {
    static func requireRoot() throws {
        guard getuid() == 0 else {
            throw LabCommandError("netns-lab needs root (network namespaces, etcd, TUN devices): run it with sudo")
        }
    }

    /// The flanneld binary: `--flanneld`, else the one next to netns-lab.
    static func flanneld(_ option: String?) throws -> String {
        let binary = option ?? siblingBinary("flanneld")
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw LabCommandError("flanneld not found at \(binary); build it (swift build) or pass --flanneld")
        }
        return binary
    }

    static func siblingBinary(_ name: String) -> String {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Ctrl-C and SIGTERM still clean up: `run`'s namespaces and files are removed on the way
    /// out. Cancel the returned sources once the lab is handed over (or destroyed).
    static func cleanUpOnSignals(run: String) -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number -> DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                Lab.clean(run: run)
                print("interrupted: removed the lab \(run)")
                Foundation.exit(130)
            }
            source.resume()
            return source
        }
    }

    static func select(_ run: String?) throws -> RunningLab {
        do {
            return try RunningLab.select(run: run)
        } catch let error as RunningLab.SelectionError {
            throw LabCommandError(error.description)
        }
    }
}

/// A failure while running a command: printed as "Error: <what and what to do>", without
/// the usage text that ArgumentParser adds to validation errors.
struct LabCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
