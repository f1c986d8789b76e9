import Foundation

/// What `netns-lab bench --backend wireguard` measured: per backend, medians over the passes.
public struct BackendComparisonReport: Sendable {
    /// In the order they are measured; the underlay last, as the ceiling.
    public enum Path: String, CaseIterable, Sendable {
        case wireguard, udp, vxlan
        case hostGW = "host-gw"
        case underlay
    }

    public struct Sample: Sendable {
        public var single: BenchProbes.IperfResult
        public var multi: BenchProbes.IperfResult
        public var rttMilliseconds: Double
        public var pingsLost: Int
        /// Busy CPU time of the whole machine during the 4-stream run.
        public var machineCPUSeconds: Double
        /// Of which the user-space forwarders (flanneld's udp proxy, wireguard-go).
        public var forwarderCPUSeconds: Double
        /// What the 4-stream run carried.
        public var gigabits: Double

        public var cpuSecondsPerGigabit: Double { gigabits > 0 ? machineCPUSeconds / gigabits : 0 }
    }

    public var samples: [Path: [Sample]]
    public var seconds: Int
    public var passes: Int

    public func median(_ path: Path, _ value: (Sample) -> Double) -> Double? {
        let values = (samples[path] ?? []).map(value)
        return values.isEmpty ? nil : BenchProbes.median(values)
    }

    public var markdown: String {
        var lines = [
            "| path | 1 stream | × udp | × underlay | 4 streams | × udp | RTT median | pings lost | CPU s per Gbit (4 streams) | of which user-space forwarders |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for path in Path.allCases where samples[path] != nil {
            let single = median(path) { $0.single.bitsPerSecond } ?? 0
            let multi = median(path) { $0.multi.bitsPerSecond } ?? 0
            let lost = (samples[path] ?? []).map(\.pingsLost).reduce(0, +)
            let sent = (samples[path] ?? []).count * 100
            let cpu = median(path) { $0.cpuSecondsPerGigabit } ?? 0
            let forwarders = median(path) { $0.gigabits > 0 ? $0.forwarderCPUSeconds / $0.gigabits : 0 } ?? 0
            lines.append("| \(title(path)) | \(UDPBenchReport.gbit(single)) | \(ratio(single, .udp) { $0.single.bitsPerSecond }) "
                + "| \(ratio(single, .underlay) { $0.single.bitsPerSecond }) | \(UDPBenchReport.gbit(multi)) | \(ratio(multi, .udp) { $0.multi.bitsPerSecond }) "
                + "| \(String(format: "%.3f ms", median(path) { $0.rttMilliseconds } ?? 0)) | \(lost) of \(sent) "
                + "| \(String(format: "%.2f", cpu)) | \(path == .underlay || path == .vxlan || path == .hostGW ? "-" : String(format: "%.2f", forwarders)) |")
        }
        return lines.joined(separator: "\n")
    }

    public func title(_ path: Path) -> String {
        switch path {
        case .wireguard: "flanneld wireguard (wireguard-go)"
        case .udp: "flanneld udp"
        case .vxlan: "flanneld vxlan"
        case .hostGW: "flanneld host-gw"
        case .underlay: "underlay eth0↔eth0"
        }
    }

    /// wireguard's single-stream throughput over our udp backend's.
    public var wireguardOverUDP: Double? {
        guard let wireguard = median(.wireguard, { $0.single.bitsPerSecond }),
              let udp = median(.udp, { $0.single.bitsPerSecond }), udp > 0 else { return nil }
        return wireguard / udp
    }

    public var verdict: String {
        guard let ratio = wireguardOverUDP else { return "wireguard vs udp: not measured" }
        let cpu = [Path.wireguard, .udp].map { path in median(path) { $0.cpuSecondsPerGigabit }.map { String(format: "%.2f", $0) } ?? "-" }
        return String(format: "wireguard (wireguard-go) / udp, 1 stream: %.2f×; CPU per Gbit %@ s vs %@ s", ratio, cpu[0], cpu[1])
    }

    private func ratio(_ value: Double, _ base: Path, _ metric: (Sample) -> Double) -> String {
        guard let reference = median(base, metric), reference > 0 else { return "-" }
        return String(format: "%.2f×", value / reference)
    }
}
