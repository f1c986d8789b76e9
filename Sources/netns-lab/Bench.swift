import Agent
import ArgumentParser
import BenchRecord
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
                Medians of --passes runs, recorded in --record (BENCHMARKS.md: the benchmark's latest run replaced, a row added to its history). Build with `swift build -c release` first: debug builds measure the compiler.
                The udp bench ends with side-by-side RTT rounds (flanneld and a second plain loop forwarding at once);
                --rtt-only runs just those, e.g. to compare two builds with --flanneld.
                """)

        @Option(help: "The backend to measure: udp, vxlan, host-gw, or wireguard (beside udp, vxlan and host-gw in one lab)")
        var backend = "udp"

        @Option(help: "Seconds per iperf3 run")
        var seconds = 5

        @Option(help: "Passes over all paths (medians are reported)")
        var passes = 3

        @Option(help: "Markdown file the results are recorded in")
        var record = "BENCHMARKS.md"

        enum Switch: String, ExpressibleByArgument, CaseIterable { case on, off }

        @Option(help: "GRO at the hosts' eth0, as a NIC driver does; off: a veth's default")
        var underlayGro = Switch.on

        @Flag(help: "Print only; do not record in --record")
        var noRecord = false

        @Option(help: "Path of the flanneld binary (default: next to netns-lab)")
        var flanneld: String?

        @Flag(help: "--backend udp: only the side-by-side RTT rounds, no throughput passes (~3 min instead of ~12 min; --passes and --seconds do not apply)")
        var rttOnly = false

        @Option(help: "--backend udp: side-by-side RTT rounds of 100 pings each (default: 4 × --passes; 16 with --rtt-only)")
        var rttRounds: Int?

        func validate() throws {
            guard ["udp", "vxlan", "host-gw", "wireguard"].contains(backend) else {
                throw ValidationError("--backend \(backend) is not a backend this agent has; use udp, vxlan, host-gw or wireguard")
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
            let benchmark: RecordedBenchmark
            let results: String
            let figures: [String]
            if backend == "wireguard" {
                for tool in ["wireguard-go", "wg"] where !CommandRunner.isInstalled(tool) {
                    throw LabCommandError("\(tool) is not installed; run lab/setup (it installs wireguard-go and wireguard-tools)")
                }
                var bench = BackendComparisonBench(flanneld: flanneldPath) { print($0) }
                bench.seconds = seconds
                bench.passes = passes
                bench.underlayGRO = underlayGro == .on
                let paths = BackendComparisonReport.Path.allCases.count
                print("bench --backend wireguard: \(passes) passes × \(paths) paths, iperf3 \(seconds) s with 1 and 4 streams (\(Self.buildConfiguration) build)")
                let report = try LabCommandSupport.interruptible(run: names.run) { try bench.run(names: names) }
                benchmark = .backends
                results = """
                    Medians of \(passes) passes of \(seconds) s.

                    Container to container across two lab hosts, the backend switched in turn in one lab (agents
                    restarted with the new config, each host keeping its subnet; the containers' MTU is each backend's
                    FLANNEL_MTU); \(underlay). This kernel has no WireGuard: the wireguard path is wireguard-go, which
                    the agent starts. CPU is the whole machine's busy time during the 4-stream run over the gigabits
                    it carried (iperf3, the kernel's forwarding and any user-space forwarder alike); the last column
                    is the part spent in flanneld's udp proxy or in wireguard-go.

                    \(report.markdown)

                    \(report.verdict)
                    """
                figures = Self.headlineFigures(report, underlayGRO: underlayGro)
            } else if let kernelBackend = KernelBench.Backend(rawValue: backend) {
                var bench = KernelBench(backend: kernelBackend, flanneld: flanneldPath) { print($0) }
                bench.seconds = seconds
                bench.passes = passes
                bench.underlayGRO = underlayGro == .on
                print("bench --backend \(backend): \(passes) passes × 3 paths, iperf3 \(seconds) s with 1 and 4 streams (\(Self.buildConfiguration) build)")
                let report = try LabCommandSupport.interruptible(run: names.run) { try bench.run(names: names) }
                benchmark = .kernel(backend: backend)
                results = """
                    Medians of \(passes) passes of \(seconds) s.

                    Container to container across two lab hosts; the path flanneld programs against the same entries
                    typed by hand with ip/bridge (COMPAT.md), switched in turn in one lab; \(underlay).

                    \(report.markdown)

                    \(report.verdict)
                    """
                figures = Self.headlineFigures(report, underlayGRO: underlayGro)
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
                    benchmark = .udpRTTOnly
                    results = """
                        \(bench.rttRoundCount) rounds of 100 pings each.

                        Container to container across two lab hosts (underlay: eth0 ↔ eth0), \(underlay).
                        No throughput passes: \(UDPBench.sideBySideMethod)

                        \(report.rttVerdict)
                        """
                    figures = Self.rttOnlyHeadlineFigures(report)
                } else {
                    benchmark = .udp
                    results = """
                        Medians of \(passes) passes of \(seconds) s.

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
                        """
                    figures = Self.headlineFigures(report, underlayGRO: underlayGro)
                }
            }
            let run = BenchmarkRun(date: Self.now, commit: Self.commit(besides: record), command: command, machine: Self.machine, results: results)
            print("")
            print("## \(benchmark.section)\n\n\(run.latest)")
            guard !noRecord else { return }
            try Self.updateRecord(at: record) { benchmark.recording(run, figures: [figures], in: $0) }
            print("recorded in \(record): the latest \(benchmark.section) run, and a row of its history")
        }

        static var buildConfiguration: String {
            #if DEBUG
            "debug"
            #else
            "release"
            #endif
        }

        /// "2026-11-30T00:34:06 UTC", as every run of this tool has been dated.
        static var now: String {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime]
            return formatter.string(from: Date()) + " UTC"
        }

        /// "release build, kernel 6.18.44-fc-v669, 2 CPUs": what the figures depend on besides the code.
        static var machine: String {
            let kernel = (try? CommandRunner.run(["uname", "-r"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? "?"
            return "\(buildConfiguration) build, kernel \(kernel), \(ProcessInfo.processInfo.activeProcessorCount) CPUs"
        }

        /// The commit of the repository holding the record, if git can tell. `safe.directory`: lab/bench
        /// runs as root in a tree someone else owns, where git would otherwise refuse to answer.
        static func commit(besides record: String) -> String? {
            let directory = URL(fileURLWithPath: record).deletingLastPathComponent().path
            guard let result = try? CommandRunner.run(["git", "-c", "safe.directory=*", "-C", directory, "rev-parse", "--short", "HEAD"]),
                  result.succeeded else { return nil }
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// Rewrites the record at `path` (a new one if there is none) as `update` makes it.
        static func updateRecord(at path: String, _ update: (String) -> String) throws {
            let url = URL(fileURLWithPath: path)
            let exists = FileManager.default.fileExists(atPath: url.path)
            let new = update(exists ? try String(contentsOf: url, encoding: .utf8) : BenchmarkRecord.emptyDocument)
            guard exists else { return try new.write(to: url, atomically: true, encoding: .utf8) }
            // Rewritten in place, not replaced: the file keeps its owner when lab/bench runs as root.
            let handle = try FileHandle(forWritingTo: url)
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: Data(new.utf8))
            try handle.close()
        }
    }
}

/// The headline figures of a run, its row in the benchmark's History (columns: `RecordedBenchmark`).
extension NetnsLabCommand.Bench {
    static func headlineFigures(_ report: UDPBenchReport, underlayGRO: Switch) -> [String] {
        let offered = (report.samples[.flanneld] ?? []).map { $0.datagrams + $0.tunDrops }.reduce(0, +)
        let loss = offered > 0 ? String(format: "%.3f %%", 100 * Double(report.realLoss(.flanneld)) / Double(offered)) : "-"
        return [underlayName(underlayGRO), gbit(report.singleStream(.flanneld)), report.flanneldOverPlainLoop.map { String(format: "%.2f×", $0) } ?? "-",
                gbit(report.fourStreams(.flanneld)), loss, rttSummary(report)]
    }

    static func rttOnlyHeadlineFigures(_ report: UDPBenchReport) -> [String] {
        let rounds = zip(report.rttRounds[.flanneld] ?? [], report.rttRounds[.plainLoop] ?? [])
        let ours = rounds.flatMap(\.0), plain = rounds.flatMap(\.1)
        guard !ours.isEmpty, !plain.isEmpty else { return ["0", "-", "-", "-", "not measured"] }
        let differences = rounds.map { 1000 * (BenchProbes.median($0.0) - BenchProbes.median($0.1)) }
        let mean = BenchProbes.meanInterval(differences).map {
            String(format: "%+.1f µs (95 %% interval %+.1f … %+.1f µs)", $0.mean, $0.mean - $0.halfWidth, $0.mean + $0.halfWidth)
        } ?? String(format: "%+.1f µs", differences[0])
        let median = BenchProbes.median(ours), plainMedian = BenchProbes.median(plain)
        return ["\(differences.count)", mean, String(format: "%.3f vs %.3f ms", median, plainMedian),
                String(format: "%.3f vs %.3f ms", BenchProbes.percentile(ours, 0.1), BenchProbes.percentile(plain, 0.1)),
                median <= plainMedian ? "met" : "NOT MET"]
    }

    static func headlineFigures(_ report: BackendComparisonReport, underlayGRO: Switch) -> [String] {
        let cpu = [BackendComparisonReport.Path.wireguard, .udp].map { path in report.median(path) { $0.cpuSecondsPerGigabit } }
        let rtt = [BackendComparisonReport.Path.wireguard, .udp].map { path in report.median(path) { $0.rttMilliseconds } }
        return [underlayName(underlayGRO), gbit(report.median(.wireguard) { $0.single.bitsPerSecond }),
                report.wireguardOverUDP.map { String(format: "%.2f×", $0) } ?? "-", gbit(report.median(.wireguard) { $0.multi.bitsPerSecond }),
                cpu[0].flatMap { a in cpu[1].map { String(format: "%.2f vs %.2f", a, $0) } } ?? "-",
                rtt[0].flatMap { a in rtt[1].map { String(format: "%.3f vs %.3f ms", a, $0) } } ?? "-"]
    }

    static func headlineFigures(_ report: KernelBenchReport, underlayGRO: Switch) -> [String] {
        let ours = report.median(.flanneld) { $0.rttMilliseconds }, byHand = report.median(.byHand) { $0.rttMilliseconds }
        return [underlayName(underlayGRO), gbit(report.median(.flanneld) { $0.single.bitsPerSecond }),
                report.flanneldOverByHand.map { String(format: "%.2f×", $0) } ?? "-", gbit(report.median(.flanneld) { $0.multi.bitsPerSecond }),
                String(format: "%.3f vs %.3f ms", ours ?? 0, byHand ?? 0)]
    }

    /// "0.222 vs 0.225 ms (side by side, 12 rounds, mean -3.8 µs): met", as judged by the report's RTT verdict:
    /// on the side-by-side rounds when there are any, else on the passes' pings.
    static func rttSummary(_ report: UDPBenchReport) -> String {
        let (oursByRound, plainByRound) = (report.rttRounds[.flanneld] ?? [], report.rttRounds[.plainLoop] ?? [])
        let sideBySide = !oursByRound.isEmpty && !plainByRound.isEmpty
        let ours = sideBySide ? oursByRound.flatMap { $0 } : report.rtts(.flanneld)
        let plain = sideBySide ? plainByRound.flatMap { $0 } : report.rtts(.plainLoop)
        guard !ours.isEmpty, !plain.isEmpty else { return "not measured" }
        let how: String
        if sideBySide {
            let differences = zip(oursByRound, plainByRound).map { 1000 * (BenchProbes.median($0.0) - BenchProbes.median($0.1)) }
            how = String(format: "side by side, %d rounds, mean %+.1f µs", differences.count, differences.reduce(0, +) / Double(differences.count))
        } else {
            how = "passes"
        }
        let median = BenchProbes.median(ours), plainMedian = BenchProbes.median(plain)
        return String(format: "%.3f vs %.3f ms (%@): %@", median, plainMedian, how, median <= plainMedian ? "met" : "NOT MET")
    }

    static func underlayName(_ gro: Switch) -> String { gro == .on ? "GRO at eth0" : "no GRO" }

    static func gbit(_ bitsPerSecond: Double?) -> String { bitsPerSecond.map { String(format: "%.2f Gbit/s", $0 / 1e9) } ?? "-" }
}
