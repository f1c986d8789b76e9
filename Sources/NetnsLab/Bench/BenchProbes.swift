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

    /// The mean of `values` and the half-width of its 95 % confidence interval (Student's t,
    /// the values taken as independent draws); nil for fewer than two values.
    public static func meanInterval(_ values: [Double]) -> (mean: Double, halfWidth: Double)? {
        guard values.count >= 2 else { return nil }
        let count = Double(values.count)
        let mean = values.reduce(0, +) / count
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (count - 1)
        return (mean, studentT975(degreesOfFreedom: values.count - 1) * (variance / count).squareRoot())
    }

    /// Student's t 97.5 % quantile: tabled up to 30 degrees of freedom, beyond that the
    /// Cornish-Fisher expansion (within 0.001 of the exact quantiles beyond 30).
    static func studentT975(degreesOfFreedom: Int) -> Double {
        precondition(degreesOfFreedom >= 1, "Student's t needs at least one degree of freedom")
        let table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
                     2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
        if degreesOfFreedom <= table.count { return table[degreesOfFreedom - 1] }
        let z = 1.959964
        let df = Double(degreesOfFreedom)
        return z + (z * z * z + z) / (4 * df) + (5 * pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * df * df)
    }

    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
