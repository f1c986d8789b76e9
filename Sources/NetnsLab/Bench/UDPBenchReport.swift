import Foundation

/// What `netns-lab bench --backend udp` measured, and the markdown it prints and records:
/// medians over the passes, ratios to the plain loop and to the underlay, loss summed.
public struct UDPBenchReport: Sendable {
    public enum Path: String, CaseIterable, Sendable {
        case flanneld, flanneldPlain, plainLoop, vxlan, kernelRoutes, underlay

        public var title: String {
            switch self {
            case .flanneld: "flanneld udp, offloads on"
            case .flanneldPlain: "flanneld udp, --udp-offload=off"
            case .plainLoop: "plain read/sendto loop"
            case .vxlan: "vxlan (kernel, by hand)"
            case .kernelRoutes: "host-gw (kernel routes, by hand)"
            case .underlay: "underlay eth0↔eth0"
            }
        }

        /// Forwarded by a process in user space (its loss and CPU are measured).
        public var isUserSpace: Bool { self == .flanneld || self == .flanneldPlain || self == .plainLoop }
    }

    public struct Sample: Sendable {
        public var single: BenchProbes.IperfResult
        public var multi: BenchProbes.IperfResult
        /// Each ping's RTT in ms (100 pings 50 ms apart).
        public var pingTimes: [Double]
        /// flannel0's dropped packets (its queue to the forwarder full), both hosts, both iperf runs.
        public var tunDrops: Int
        /// UDP receive/send buffer overflows, both hosts, both iperf runs.
        public var socketDrops: Int
        /// Frames dropped by the underlay veths (both ends, both hosts: a full NAPI receive ring),
        /// both iperf runs.
        public var underlayDrops: Int
        /// Frames both hosts' eth0 sent (the tunnel's datagrams, wire-sized), both iperf runs.
        public var datagrams: Int
        /// CPU time of the forwarding processes (both hosts) during the single-stream run.
        public var cpuSeconds: Double?
        public var wallSeconds: Double
        public var residentKilobytes: Int?
    }

    public var samples: [Path: [Sample]]
    public var seconds: Int
    public var passes: Int
    /// RTT rounds measured side by side after the passes: flanneld (offloads on) and a plain
    /// loop forwarding at the same time, pinged in turn, each round's pings in ms. The RTT
    /// target is judged on these when there are any.
    public var rttRounds: [Path: [[Double]]]

    public init(samples: [Path: [Sample]], seconds: Int, passes: Int, rttRounds: [Path: [[Double]]] = [:]) {
        self.samples = samples
        self.seconds = seconds
        self.passes = passes
        self.rttRounds = rttRounds
    }

    public func median(_ path: Path, _ value: (Sample) -> Double?) -> Double? {
        let values = (samples[path] ?? []).compactMap(value)
        return values.isEmpty ? nil : BenchProbes.median(values)
    }

    public func singleStream(_ path: Path) -> Double? { median(path) { $0.single.bitsPerSecond } }
    public func fourStreams(_ path: Path) -> Double? { median(path) { $0.multi.bitsPerSecond } }

    /// flanneld's single-stream throughput (offloads on) over the plain loop's (target ≥ 4×).
    public var flanneldOverPlainLoop: Double? {
        guard let ours = singleStream(.flanneld), let plain = singleStream(.plainLoop), plain > 0 else { return nil }
        return ours / plain
    }

    public static let target = 4.0

    /// Every ping's RTT on a path, pooled over the passes.
    public func rtts(_ path: Path) -> [Double] { (samples[path] ?? []).flatMap(\.pingTimes) }

    /// "0.231 ms (p10 0.160)": the pooled median, and the fast end where the VM's wake-ups cost least.
    func rttText(_ path: Path) -> String {
        let times = rtts(path)
        guard !times.isEmpty else { return "-" }
        return String(format: "%.3f ms (p10 %.3f)", BenchProbes.median(times), BenchProbes.percentile(times, 0.1))
    }

    /// The RTT target (no worse than the plain loop's), on the pooled medians: of the
    /// side-by-side rounds when there are any, else of the passes.
    public var rttVerdict: String {
        let sideBySide = !(rttRounds[.flanneld] ?? []).isEmpty && !(rttRounds[.plainLoop] ?? []).isEmpty
        let ours = sideBySide ? rttRounds[.flanneld]!.flatMap { $0 } : rtts(.flanneld)
        let plain = sideBySide ? rttRounds[.plainLoop]!.flatMap { $0 } : rtts(.plainLoop)
        guard !ours.isEmpty, !plain.isEmpty else { return "RTT flanneld udp vs plain loop: not measured" }
        let (median, plainMedian) = (BenchProbes.median(ours), BenchProbes.median(plain))
        var how = "RTT"
        if sideBySide {
            // Round by round, what flanneld's median was over the loop's, in µs.
            let differences = zip(rttRounds[.flanneld]!, rttRounds[.plainLoop]!).map { pair in
                1000 * (BenchProbes.median(pair.0) - BenchProbes.median(pair.1))
            }
            // A round moves by several µs with nothing changed but the restart: the mean says more than any one round.
            let listed = differences.map { String(format: "%+.0f", $0) }.joined(separator: " ")
            // How far the mean could be from the true difference, rounds taken as independent draws
            // (no interval from a single round).
            let summary = BenchProbes.meanInterval(differences)
            let mean = summary?.mean ?? differences[0]
            let interval = summary.map {
                String(format: ", 95 %% interval %+.1f … %+.1f µs", $0.mean - $0.halfWidth, $0.mean + $0.halfWidth)
            } ?? ""
            how = "RTT side by side (\(differences.count) rounds, flanneld and a side plain loop on flannel1 forwarding at once, restarted each round; flanneld − loop per round: \(listed) µs, mean \(String(format: "%+.1f", mean)) µs\(interval))"
        }
        return String(format: "%@, median of %d and %d pings: flanneld udp (offloads on) %.3f ms, plain loop %.3f ms; p10 %.3f vs %.3f ms (target: no worse than the plain loop): %@",
                      how, ours.count, plain.count, median, plainMedian, BenchProbes.percentile(ours, 0.1), BenchProbes.percentile(plain, 0.1),
                      median <= plainMedian ? "met" : "NOT MET")
    }

    /// Real loss (flannel0, UDP buffer and underlay drops) on a path, summed over all passes.
    public func realLoss(_ path: Path) -> Int {
        (samples[path] ?? []).map { $0.tunDrops + $0.socketDrops + $0.underlayDrops }.reduce(0, +)
    }

    public var markdown: String {
        var lines = [
            "| path | 1 stream | × plain loop | × underlay | 4 streams | × plain loop | RTT median (p10) | flannel0 drops | UDP buffer drops | underlay drops | real loss | TCP retransmits | forwarder CPU (both hosts, 1 stream) | CPU per Gbit | forwarder RSS |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for path in Path.allCases where samples[path] != nil {
            let single = singleStream(path) ?? 0
            let multi = fourStreams(path) ?? 0
            let tunDrops = samples[path]!.map(\.tunDrops).reduce(0, +)
            let socketDrops = samples[path]!.map(\.socketDrops).reduce(0, +)
            let underlayDrops = samples[path]!.map(\.underlayDrops).reduce(0, +)
            let datagrams = samples[path]!.map(\.datagrams).reduce(0, +)
            let userSpace = path.isUserSpace
            // Packets dropped at flannel0 never became datagrams: they count in the total.
            let offered = datagrams + tunDrops
            let lost = tunDrops + socketDrops + underlayDrops
            let loss = !userSpace ? "- (kernel path)"
                : offered > 0 ? String(format: "%.3f %% of %d", 100 * Double(lost) / Double(offered), offered) : "0"
            let retransmits = median(path) { Double($0.single.retransmits + $0.multi.retransmits) } ?? 0
            let cpuShare = median(path) { sample in sample.cpuSeconds.map { $0 / sample.wallSeconds } }
            let cpuPerGbit = median(path) { sample in
                sample.cpuSeconds.map { $0 / max(sample.single.bitsPerSecond * sample.wallSeconds / 1e9, 1e-9) }
            }
            let rss = median(path) { $0.residentKilobytes.map(Double.init) }
            lines.append("| \(path.title) | \(Self.gbit(single)) | \(ratio(single, .plainLoop, singleStream)) | \(ratio(single, .underlay, singleStream)) "
                + "| \(Self.gbit(multi)) | \(ratio(multi, .plainLoop, fourStreams)) | \(rttText(path)) "
                + "| \(userSpace ? String(tunDrops) : "-") | \(userSpace ? String(socketDrops) : "-") | \(underlayDrops) | \(loss) "
                + "| \(Int(retransmits)) | \(cpuShare.map { String(format: "%.0f %%", $0 * 100) } ?? "kernel") "
                + "| \(cpuPerGbit.map { String(format: "%.2f s", $0) } ?? "-") | \(rss.map { String(format: "%.1f MB", $0 / 1024) } ?? "-") |")
        }
        return lines.joined(separator: "\n")
    }

    public var verdict: String {
        guard let ratio = flanneldOverPlainLoop else { return "flanneld udp vs plain loop: not measured" }
        let loss = realLoss(.flanneld)
        return String(format: "flanneld udp (offloads on) / plain loop, 1 stream: %.2f×, real loss %d (target ≥ %.0f×, zero loss): %@",
                      ratio, loss, Self.target, ratio >= Self.target && loss == 0 ? "met" : "NOT MET")
    }

    private func ratio(_ value: Double, _ base: Path, _ metric: (Path) -> Double?) -> String {
        guard let reference = metric(base), reference > 0 else { return "-" }
        return String(format: "%.2f×", value / reference)
    }

    static func gbit(_ bitsPerSecond: Double) -> String { String(format: "%.2f Gbit/s", bitsPerSecond / 1e9) }
}
