import Agent
import ArgumentParser
import Foundation
import NetnsLab

extension NetnsLabCommand {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Throughput, RTT, real loss and CPU of a backend's data path, side by side with baselines, in one run.",
            discussion: """
                For --backend udp: flanneld's udp backend, a plain read/sendto TUN↔UDP loop (upstream's design), plain
                kernel routes and the underlay. For --backend vxlan or host-gw: the kernel path flanneld programs, the
                same path built by hand with ip/bridge, and the underlay. Container to container between two lab hosts,
                over an underlay whose veths act as NICs: frames leave wire-sized (gso_max_segs 1) and the
                receiving eth0 does GRO as a NIC driver does (--underlay-gro off: a veth's default, no GRO).
                Medians of --passes runs; the table is appended to --record (BENCHMARKS.md). Build with `swift build -c release` first: debug builds measure the compiler.
                The udp bench ends with side-by-side RTT rounds (flanneld and a second plain loop forwarding at once);
                --rtt-only runs just those, e.g. to compare two builds with --flanneld.
                """)

        @Option(help: "The backend to measure: udp, vxlan or host-gw")
        var backend = "udp"

        @Option(help: "Seconds per iperf3 run")
        var seconds = 5

        @Option(help: "Passes over all paths (medians are reported)")
        var passes = 3

        @Option(help: "Markdown file the results are appended to")
        var record = "BENCHMARKS.md"

        enum Switch: String, ExpressibleByArgument, CaseIterable { case on, off }

        @Option(help: "GRO at the hosts' eth0, as a NIC driver does; off: a veth's default")
        var underlayGro = Switch.on

        @Flag(help: "Print only; do not append to --record")
        var noRecord = false

        @Option(help: "Path of the flanneld binary (default: next to netns-lab)")
        var flanneld: String?

        @Flag(help: "--backend udp: only the side-by-side RTT rounds, no throughput passes (~3 min instead of ~12 min; --passes and --seconds do not apply)")
        var rttOnly = false

        @Option(help: "--backend udp: side-by-side RTT rounds of 100 pings each (default: 4 × --passes; 16 with --rtt-only)")
        var rttRounds: Int?

        func validate() throws {
            guard ["udp", "vxlan", "host-gw"].contains(backend) else {
                throw ValidationError("--backend \(backend) is not a backend this agent has; use udp, vxlan or host-gw")
            }
            guard (1...120).contains(seconds) else { throw ValidationError("--seconds must be 1…120, got \(seconds)") }
            guard (1...20).contains(passes) else { throw ValidationError("--passes must be 1…20, got \(passes)") }
            if let rttRounds, !(1...100).contains(rttRounds) {
                throw ValidationError("--rtt-rounds must be 1…100, got \(rttRounds)")
            }
            if backend != "udp", let flag = rttOnly ? "--rtt-only" : rttRounds != nil ? "--rtt-rounds" : nil {
                throw ValidationError("\(flag) is for --backend udp (the side-by-side rounds of flanneld's udp backend and the plain loop); "
                                      + "--backend \(backend) has none: drop \(flag) or use --backend udp")
            }
        }

        func run() throws {
            try LabCommandSupport.requireRoot()
            for tool in ["iperf3", "ping", "etcd", "etcdctl"] where !CommandRunner.isInstalled(tool) {
                throw LabCommandError("\(tool) is not installed; run lab/setup (it installs iperf3, iputils-ping, etcd-server, etcd-client)")
            }
            let names = LabNames()
            let flanneldPath = try LabCommandSupport.flanneld(flanneld)
            // What reproduces the run: the round count always with --rtt-only, and another build's path.
            let rounds = rttOnly ? UDPBench.rttRoundCount(requested: rttRounds, rttOnly: true, passes: passes) : rttRounds
            let command = "netns-lab bench --backend \(backend)"
                + (rttOnly ? " --rtt-only" : " --seconds \(seconds) --passes \(passes)")
                + (rounds.map { " --rtt-rounds \($0)" } ?? "") + " --underlay-gro \(underlayGro.rawValue)"
                + (flanneld.map { " --flanneld \($0)" } ?? "")
            let underlay = underlayGro == .on
                ? "underlay veths acting as NICs: frames leave wire-sized (`gso_max_segs 1`), the receiving eth0 does GRO"
                : "underlay segmentation forced (`gso_max_segs 1`) on every underlay veth, no GRO at the receiving eth0 (a veth's default)"
            let section: String
            if let kernelBackend = KernelBench.Backend(rawValue: backend) {
                var bench = KernelBench(backend: kernelBackend, flanneld: flanneldPath) { print($0) }
                bench.seconds = seconds
                bench.passes = passes
                bench.underlayGRO = underlayGro == .on
                print("bench --backend \(backend): \(passes) passes × 3 paths, iperf3 \(seconds) s with 1 and 4 streams (\(Self.buildConfiguration) build)")
                let report = try LabCommandSupport.interruptible(run: names.run) { try bench.run(names: names) }
                section = Self.section(title: "\(backend) backend", command: command, passes: passes, seconds: seconds, body: """
                    Container to container across two lab hosts; the path flanneld programs against the same entries
                    typed by hand with ip/bridge (COMPAT.md), switched in turn in one lab; \(underlay).

                    \(report.markdown)

                    \(report.verdict)
                    """)
            } else {
                var bench = UDPBench(flanneld: flanneldPath, netnsLab: LabCommandSupport.siblingBinary("netns-lab")) { print($0) }
                bench.seconds = seconds
                bench.passes = passes
                bench.underlayGRO = underlayGro == .on
                bench.rttOnly = rttOnly
                bench.rttRounds = rttRounds
                let roundsText = "\(bench.rttRoundCount) RTT rounds of flanneld and a plain loop side by side (\(Self.buildConfiguration) build)"
                print(rttOnly ? "bench --backend udp --rtt-only: \(roundsText)"
                      : "bench --backend udp: \(passes) passes × \(UDPBenchReport.Path.allCases.count) paths, iperf3 \(seconds) s with 1 and 4 streams, "
                        + "then \(roundsText)")
                let report = try LabCommandSupport.interruptible(run: names.run) { try bench.run(names: names) }
                if rttOnly {
                    section = Self.section(title: "udp backend, RTT only", command: command, summary: "\(bench.rttRoundCount) rounds of 100 pings each.", body: """
                        Container to container across two lab hosts (underlay: eth0 ↔ eth0), \(underlay).
                        No throughput passes: \(UDPBench.sideBySideMethod)

                        \(report.rttVerdict)
                        """)
                } else {
                    section = Self.section(title: "udp backend", command: command, passes: passes, seconds: seconds, body: """
                        Container to container across two lab hosts (underlay: eth0 ↔ eth0), \(underlay).
                        Drops are the kernel's counters on both hosts, summed over all passes; underlay drops are both ends of
                        each host's underlay veth pair (a full receive ring); real loss = flannel0 + UDP buffer + underlay drops
                        over the packets offered to the tunnel (frames the hosts' eth0 sent, one per datagram on the wire,
                        plus flannel0 drops). "× underlay" compares with eth0↔eth0 TCP,
                        whose segments the hosts' own TCP builds one by one under `gso_max_segs 1`, while forwarded
                        container traffic is only split at eth0: the kernel-routes path can exceed it.
                        The RTT column is each path's 100 pings per pass; the RTT target is judged on rounds measured
                        after the passes: \(UDPBench.sideBySideMethod)

                        \(report.markdown)

                        \(report.verdict)

                        \(report.rttVerdict)
                        """)
                }
            }
            print("")
            print(section)
            guard !noRecord else { return }
            let url = URL(fileURLWithPath: record)
            if !FileManager.default.fileExists(atPath: url.path) {
                try "# Benchmarks\n\nMeasured numbers, newest last, each with the command that produced it.\n".write(to: url, atomically: true, encoding: .utf8)
            }
            let handle = try FileHandle(forWritingTo: url)
            handle.seekToEndOfFile()
            handle.write(Data(("\n" + section + "\n").utf8))
            try handle.close()
            print("appended to \(url.path)")
        }

        static var buildConfiguration: String {
            #if DEBUG
            "debug"
            #else
            "release"
            #endif
        }

        static func section(title: String, command: String, passes: Int, seconds: Int, body: String) -> String {
            section(title: title, command: command, summary: "medians of \(passes) passes of \(seconds) s.", body: body)
        }

        static func section(title: String, command: String, summary: String, body: String) -> String {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime]
            let kernel = (try? CommandRunner.run(["uname", "-r"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? "?"
            return """
                ## \(title), \(formatter.string(from: Date())) UTC

                `\(command)` — \(buildConfiguration) build, kernel \(kernel), \(ProcessInfo.processInfo.activeProcessorCount) CPUs;
                \(summary)

                \(body)
                """
        }
    }
}
