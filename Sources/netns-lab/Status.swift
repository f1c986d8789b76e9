import ArgumentParser
import NetnsLab

extension NetnsLabCommand {
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
}
