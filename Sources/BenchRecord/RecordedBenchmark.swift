/// A benchmark the tools record in BENCHMARKS.md: its section and its History's columns. They
/// live here, not in the tools, so that the tests can hold BENCHMARKS.md to what the tools write.
public struct RecordedBenchmark: Sendable, Equatable {
    public var section: String
    /// The headline figures a run adds to History, between "date, commit" and "what changed".
    public var figures: [String]

    public init(section: String, figures: [String]) {
        self.section = section
        self.figures = figures
    }

    /// The History's columns: when and on what, the figures, then a column for a person to fill in.
    public var historyHeader: [String] { ["date", "commit"] + figures + ["what changed"] }

    /// `markdown` with `run` as this benchmark's Latest and a History row for each of `figures`
    /// (cells in the order of `self.figures`; a run of several cluster sizes gives several rows).
    public func recording(_ run: BenchmarkRun, figures rows: [[String]], in markdown: String) -> String {
        precondition(rows.allSatisfy { $0.count == figures.count }, "a History row needs one cell per figure: \(figures)")
        return BenchmarkRecord.updating(markdown, section: section, latest: run.latest, historyHeader: historyHeader,
                                        historyRows: rows.map { [run.date, run.commit] + $0 + [""] })
    }

    public static let udp = RecordedBenchmark(
        section: "udp backend",
        figures: ["underlay", "flanneld 1 stream", "× plain loop", "4 streams", "real loss", "RTT median, flanneld vs loop"])

    public static let udpRTTOnly = RecordedBenchmark(
        section: "udp backend, RTT only",
        figures: ["rounds", "mean flanneld − loop per round", "pooled median, flanneld vs loop", "p10, flanneld vs loop", "RTT target"])

    /// vxlan or host-gw: the kernel path flanneld programs against the same one built by hand.
    public static func kernel(backend: String) -> RecordedBenchmark {
        RecordedBenchmark(
            section: "\(backend) backend",
            figures: ["underlay", "flanneld 1 stream", "× by hand", "4 streams", "RTT median, flanneld vs by hand"])
    }

    /// wireguard next to the other backends in one lab.
    public static let backends = RecordedBenchmark(
        section: "wireguard backend, beside the others",
        figures: ["underlay", "wireguard 1 stream", "× udp", "4 streams", "CPU s per Gbit, wireguard vs udp", "RTT median, wireguard vs udp"])

    public static let simulatorScale = RecordedBenchmark(
        section: "simulator scale (S13)",
        figures: ["hosts", "simulated", "wall", "peak memory", "broken invariants"])

    /// The control plane at 50 hosts on a 3-member etcd, lab and simulator (a row per backend).
    public static let controlPlane = RecordedBenchmark(
        section: "control plane at 50 hosts",
        figures: ["backend", "hosts", "cold start, lab", "join p50 / p99 / max, lab", "join p50 / p99 / max, simulator", "renewed after leader kill, lab"])

    public static let all: [RecordedBenchmark] = [.udp, .udpRTTOnly, .kernel(backend: "vxlan"), .kernel(backend: "host-gw"), .backends, .simulatorScale,
                                                  .controlPlane]
}
