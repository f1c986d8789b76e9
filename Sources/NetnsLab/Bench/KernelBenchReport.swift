import Foundation

/// What `netns-lab bench --backend vxlan|host-gw` measured: medians over the passes and the
/// ratios to the hand-built path and the underlay.
public struct KernelBenchReport: Sendable {
    public enum Path: String, CaseIterable, Sendable {
        case flanneld, byHand, underlay

        public func title(_ backend: KernelBench.Backend) -> String {
            switch self {
            case .flanneld: "flanneld \(backend.rawValue)"
            case .byHand: backend == .vxlan ? "vxlan by hand (ip, bridge)" : "host-gw by hand (ip route)"
            case .underlay: "underlay eth0↔eth0"
            }
        }
    }

    public struct Sample: Sendable {
        public var single: BenchProbes.IperfResult
        public var multi: BenchProbes.IperfResult
        public var rttMilliseconds: Double
    }

    public var backend: KernelBench.Backend
    public var samples: [Path: [Sample]]
    public var seconds: Int
    public var passes: Int

    public func median(_ path: Path, _ value: (Sample) -> Double) -> Double? {
        let values = (samples[path] ?? []).map(value)
        return values.isEmpty ? nil : BenchProbes.median(values)
    }

    /// flanneld's single-stream throughput over the hand-built path's (goal ≥ 0.95).
    public var flanneldOverByHand: Double? {
        guard let ours = median(.flanneld, { $0.single.bitsPerSecond }),
              let hand = median(.byHand, { $0.single.bitsPerSecond }), hand > 0 else { return nil }
        return ours / hand
    }

    public var markdown: String {
        var lines = [
            "| path | 1 stream | × by hand | × underlay | 4 streams | × by hand | RTT median | TCP retransmits |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for path in Path.allCases where samples[path] != nil {
            let single = median(path) { $0.single.bitsPerSecond } ?? 0
            let multi = median(path) { $0.multi.bitsPerSecond } ?? 0
            let retransmits = median(path) { Double($0.single.retransmits + $0.multi.retransmits) } ?? 0
            lines.append("| \(path.title(backend)) | \(UDPBenchReport.gbit(single)) | \(ratio(single, .byHand) { $0.single.bitsPerSecond }) "
                + "| \(ratio(single, .underlay) { $0.single.bitsPerSecond }) | \(UDPBenchReport.gbit(multi)) | \(ratio(multi, .byHand) { $0.multi.bitsPerSecond }) "
                + "| \(String(format: "%.3f ms", median(path) { $0.rttMilliseconds } ?? 0)) | \(Int(retransmits)) |")
        }
        return lines.joined(separator: "\n")
    }

    public var verdict: String {
        guard let ratio = flanneldOverByHand else { return "flanneld \(backend.rawValue) vs by hand: not measured" }
        return String(format: "flanneld %@ / by hand, 1 stream: %.2f× (goal ≥ 0.95×): %@", backend.rawValue, ratio, ratio >= 0.95 ? "met" : "NOT MET")
    }

    private func ratio(_ value: Double, _ base: Path, _ metric: (Sample) -> Double) -> String {
        guard let reference = median(base, metric), reference > 0 else { return "-" }
        return String(format: "%.2f×", value / reference)
    }
}
