import Agent
import ArgumentParser
import BenchRecord
import ClusterScenarios
import Foundation
import NetnsLab
import Sim

extension NetnsLabCommand {
    struct ScaleBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scale-bench",
            abstract: "The control plane at 50 hosts on a 3-member etcd: cold start, joins, etcd load, agents at rest, renewals after a leader kill; lab and simulator side by side.",
            discussion: """
                Per backend, one lab of --hosts host namespaces plus --joins more, real agents (leases of --lease-ttl), and
                the same setup in the simulator. Cold start: every agent at once, until each has every other as a peer.
                Rest: etcd's unary requests and each agent's RSS and CPU over --rest seconds. Joins: one host at a time,
                from its agent's start (its log's first line) until every other agent has programmed it (its log's last
                line for that subnet), also from the newcomer holding its lease (its "acquired lease"). Then etcd's leader is SIGKILLed: the time until every
                agent has renewed. Times come from the agents' log timestamps; etcd requests from its /metrics.
                Recorded in --record (BENCHMARKS.md). Build with `swift build -c release` first.
                """)

        @Option(help: "Hosts started together (2–200)")
        var hosts = 50

        @Option(help: "Hosts joining one at a time after the cold start (1–40)")
        var joins = 20

        @Option(help: "etcd members (1, 3 or 5)")
        var etcdMembers = 3

        @Option(help: "Comma-separated backends, each in its own lab: vxlan, host-gw, udp")
        var backends = "vxlan,host-gw,udp"

        @Option(help: "--subnet-lease-ttl of every agent, in seconds (renewals every half of it)")
        var leaseTTL = 60

        @Option(help: "Seconds at rest after the cold start (requests, RSS, CPU)")
        var rest = 60

        @Option(help: "Markdown file the results are recorded in")
        var record = "BENCHMARKS.md"

        @Flag(help: "Print only; do not record in --record")
        var noRecord = false

        @Option(help: "Path of the flanneld binary (default: next to netns-lab)")
        var flanneld: String?

        var backendList: [String] { backends.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }

        func validate() throws {
            guard (2...200).contains(hosts) else { throw ValidationError("--hosts must be 2…200 (the underlay has room for 240 hosts with the joins), got \(hosts)") }
            guard (1...40).contains(joins), hosts + joins <= 240 else { throw ValidationError("--joins must be 1…40 and --hosts + --joins at most 240, got \(joins)") }
            guard [1, 3, 5].contains(etcdMembers) else { throw ValidationError("--etcd-members must be 1, 3 or 5, got \(etcdMembers)") }
            guard (10...3600).contains(leaseTTL) else { throw ValidationError("--lease-ttl must be 10…3600 seconds, got \(leaseTTL)") }
            guard (10...3600).contains(rest) else { throw ValidationError("--rest must be 10…3600 seconds, got \(rest)") }
            for backend in backendList where !["vxlan", "host-gw", "udp"].contains(backend) {
                throw ValidationError("--backends: \(backend) is not measured here; use vxlan, host-gw and/or udp")
            }
        }

        func run() throws {
            try LabCommandSupport.requireRoot()
            for tool in ["etcd", "etcdctl", "python3", "ping"] where !CommandRunner.isInstalled(tool) {
                throw LabCommandError("\(tool) is not installed; run lab/setup")
            }
            let flanneldPath = try LabCommandSupport.flanneld(flanneld)
            let command = "netns-lab scale-bench --hosts \(hosts) --joins \(joins) --etcd-members \(etcdMembers) --backends \(backends)"
                + " --lease-ttl \(leaseTTL) --rest \(rest)"
            print("\(command) (\(NetnsLabCommand.Bench.buildConfiguration) build)")
            var runs: [ControlPlaneReport.Run] = []
            for backend in backendList {
                var setup = ControlPlaneSetup()
                setup.hosts = hosts
                setup.joins = joins
                setup.etcdMembers = etcdMembers
                setup.backend = backend
                setup.leaseTTL = .seconds(leaseTTL)
                setup.rest = .seconds(rest)
                let simulator = try SimControlPlaneBench(setup: setup).run()
                print("\(backend): simulator done")
                let bench = ControlPlaneBench(setup: setup, flanneld: flanneldPath) { print("\(backend): \($0)") }
                let names = LabNames()
                let lab = try LabCommandSupport.interruptible(run: names.run) { try bench.run(names: names) }
                runs.append(ControlPlaneReport.Run(backend: backend, lab: lab, simulator: simulator))
            }
            let report = ControlPlaneReport(runs: runs)
            let results = """
                \(hosts) hosts started together, then \(joins) joining one at a time, on \(etcdMembers) etcd members; leases
                of \(leaseTTL) s; \(rest) s at rest. The simulator runs the same setup (seed 1) on virtual time: its etcd
                answers in 0.5–3 ms each way and a route is programmed the instant the agent decides it, so its
                figures are the agent's own logic; the lab's add process start-up, gRPC, the kernel and two cores
                shared by \(hosts + joins) agents and \(etcdMembers) etcd members.

                \(report.markdown)

                \(report.verdict)
                """
            let run = BenchmarkRun(date: NetnsLabCommand.Bench.now, commit: NetnsLabCommand.Bench.commit(besides: record), command: command,
                                   machine: NetnsLabCommand.Bench.machine, results: results)
            print("")
            print("## \(RecordedBenchmark.controlPlane.section)\n\n\(run.latest)")
            guard !noRecord else { return }
            let rows = runs.map { run in
                [run.backend, "\(hosts)", ControlPlaneReport.time(run.lab.coldStartConvergence),
                 ControlPlaneReport.quantiles(run.lab.joinsFromStart), ControlPlaneReport.quantiles(run.simulator.joinsFromStart),
                 run.lab.renewedAfterLeaderKill.map(ControlPlaneReport.time) ?? "-"]
            }
            try NetnsLabCommand.Bench.updateRecord(at: record) { RecordedBenchmark.controlPlane.recording(run, figures: rows, in: $0) }
            print("recorded in \(record): the latest \(RecordedBenchmark.controlPlane.section) run, and a row per backend in its history")
        }
    }
}
