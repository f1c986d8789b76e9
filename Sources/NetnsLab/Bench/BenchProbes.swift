import Foundation

/// Parsers for what the bench reads from its tools and from the kernel: iperf3's JSON,
/// ping's summary, `/proc/net/snmp`, `ip -s -j link` and `/proc/<pid>/stat`. Pure, so they
/// are unit-tested against captured output.
public enum BenchProbes {
    public struct IperfResult: Sendable, Equatable {
        public var bitsPerSecond: Double
        public var retransmits: Int
    }

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    /// `iperf3 -J` output: received throughput and the sender's retransmits.
    public static func iperf(json text: String) throws -> IperfResult {
        guard let data = text.data(using: .utf8),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ParseError(description: "iperf3 did not print JSON: \(text.prefix(300))")
        }
        if let error = root["error"] as? String { throw ParseError(description: "iperf3: \(error)") }
        guard let end = root["end"] as? [String: Any],
              let received = end["sum_received"] as? [String: Any],
              let bits = (received["bits_per_second"] as? NSNumber)?.doubleValue else {
            throw ParseError(description: "iperf3's JSON has no end.sum_received.bits_per_second")
        }
        let sent = end["sum_sent"] as? [String: Any]
        return IperfResult(bitsPerSecond: bits, retransmits: (sent?["retransmits"] as? NSNumber)?.intValue ?? 0)
    }

    /// Each reply's "time=0.123 ms" from ping's output, in ms, in order; duplicates (DUP!) left out.
    public static func pingTimes(_ text: String) -> [Double] {
        text.split(separator: "\n").compactMap { line in
            guard !line.contains("DUP!"), let start = line.range(of: " time=") else { return nil }
            return Double(line[start.upperBound...].prefix { $0.isNumber || $0 == "." })
        }
    }

    /// The nearest-rank percentile: the smallest value with at least `fraction` of `values` at
    /// or below it (0 for none).
    public static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }

    /// One protocol's counters from `/proc/net/snmp` ("Udp: InDatagrams …" then "Udp: 12 …").
    public static func snmp(_ text: String, protocol name: String) -> [String: Int] {
        let lines = text.split(separator: "\n").filter { $0.hasPrefix(name + ":") }
        guard lines.count >= 2 else { return [:] }
        let keys = lines[0].split(separator: " ").dropFirst()
        let values = lines[1].split(separator: " ").dropFirst()
        var result: [String: Int] = [:]
        for (key, value) in zip(keys, values) { result[String(key)] = Int(value) }
        return result
    }

    /// `ip -s -j link show DEV`: the device's rx and tx dropped packets.
    public static func linkDrops(json text: String) -> Int? {
        guard let stats = linkStatistics(json: text) else { return nil }
        let dropped = { (direction: String) in ((stats[direction] as? [String: Any])?["dropped"] as? NSNumber)?.intValue ?? 0 }
        return dropped("rx") + dropped("tx")
    }

    /// `ip -s -j link show DEV`: the packets the device transmitted.
    public static func linkTransmitted(json text: String) -> Int? {
        ((linkStatistics(json: text)?["tx"] as? [String: Any])?["packets"] as? NSNumber)?.intValue
    }

    /// The `stats64` object of `ip -s -j link show DEV`'s first link.
    private static func linkStatistics(json text: String) -> [String: Any]? {
        guard let data = text.data(using: .utf8),
              let links = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { return nil }
        return links.first?["stats64"] as? [String: Any]
    }

    /// `/proc/<pid>/stat`: user + system CPU time in clock ticks (fields 14 and 15; the command
    /// name in parentheses may contain spaces, so count from the closing parenthesis).
    public static func cpuTicks(stat text: String) -> Int? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After ")": state is field 3, so utime (14) and stime (15) are at offsets 11 and 12.
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    /// `/proc/<pid>/status`: VmRSS in kB.
    public static func residentKilobytes(status text: String) -> Int? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }

    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
