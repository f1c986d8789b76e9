import AgentCore

/// The ordered log of everything observable in a run (leases, routes, packets delivered,
/// drifts, faults) and a hash over it. Same seed, same lines, same hash. The hash is FNV-1a
/// (Swift's `Hasher` is seeded per process and would differ between runs).
public struct SimTrace: Sendable {
    public private(set) var lines: [String] = []
    public private(set) var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    public private(set) var count = 0
    /// Large runs keep only the hash.
    public var keepsLines: Bool

    public init(keepsLines: Bool = true) {
        self.keepsLines = keepsLines
    }

    public mutating func record(_ now: Timestamp, _ text: String) {
        let line = "\(Self.format(now)) \(text)"
        for byte in line.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        hash ^= 0x0A
        hash &*= 0x0000_0100_0000_01B3
        count += 1
        if keepsLines { lines.append(line) }
    }

    public var hashText: String {
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// "[   12.345678]": seconds with microseconds, fixed width.
    static func format(_ time: Timestamp) -> String {
        let micros = time.nanoseconds / 1_000
        let seconds = String(micros / 1_000_000)
        let fraction = String(micros % 1_000_000)
        return "[" + String(repeating: " ", count: max(0, 8 - seconds.count)) + seconds + "."
            + String(repeating: "0", count: 6 - fraction.count) + fraction + "]"
    }
}
