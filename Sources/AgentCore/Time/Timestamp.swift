/// A point on a monotonic timeline, in nanoseconds from an arbitrary origin. The core never
/// reads a clock: the daemon stamps events from `ContinuousClock`, the simulator from its
/// virtual clock, tests with literals.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = Timestamp(nanoseconds: 0)

    public static func seconds(_ seconds: Int64) -> Timestamp { Timestamp(nanoseconds: seconds * 1_000_000_000) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public static func + (lhs: Timestamp, rhs: Duration) -> Timestamp {
        Timestamp(nanoseconds: lhs.nanoseconds + rhs.nanosecondsClamped)
    }

    public static func - (lhs: Timestamp, rhs: Duration) -> Timestamp {
        Timestamp(nanoseconds: lhs.nanoseconds - rhs.nanosecondsClamped)
    }

    public static func - (lhs: Timestamp, rhs: Timestamp) -> Duration {
        .nanoseconds(lhs.nanoseconds - rhs.nanoseconds)
    }

    public var description: String {
        let whole = nanoseconds / 1_000_000_000
        let millis = abs(nanoseconds % 1_000_000_000) / 1_000_000
        return "t=\(whole).\(String(millis + 1000).dropFirst())s"
    }
}

extension Duration {
    /// Whole nanoseconds, saturating at Int64's range (a 24 h TTL is far inside it).
    public var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return product.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }

    /// Whole seconds, rounded up: etcd lease TTLs are whole seconds and must not be shorter
    /// than asked.
    public var wholeSecondsRoundedUp: Int64 {
        let nanos = nanosecondsClamped
        return nanos <= 0 ? 0 : (nanos + 999_999_999) / 1_000_000_000
    }
}
