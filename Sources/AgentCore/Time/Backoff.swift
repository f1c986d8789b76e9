/// How long to wait before trying again: `initial` after the first failure, doubling with
/// each consecutive one up to `maximum`, back to `initial` after a success. One type for
/// every retry the agent makes, so that the daemon and the simulator wait alike; the presets
/// name each retry and its bounds. With `jitter` each wait is drawn from 75–100 % of it, so
/// that agents failing together (an etcd outage) do not retry together, even at the maximum.
public struct Backoff: Equatable, Sendable {
    public let initial: Duration
    public let maximum: Duration
    /// What the next failure waits.
    public private(set) var upcoming: Duration
    public var jitter: Jitter?
    static let spread = 0.25

    public init(initial: Duration, maximum: Duration) {
        precondition(initial > .zero && maximum >= initial, "a backoff needs 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        upcoming = initial
    }

    /// A failure: the delay to wait now; the one after it doubles.
    public mutating func failed() -> Duration {
        let delay = upcoming
        upcoming = min(upcoming * 2, maximum)
        guard var jitter else { return delay }
        defer { self.jitter = jitter }
        return delay * (1 - Self.spread * jitter.fraction())
    }

    /// A success: the next failure waits `initial` again.
    public mutating func succeeded() {
        upcoming = initial
    }

    /// Waiting for the network config to exist and be valid (an operator is expected to write it).
    public static var networkConfig: Backoff { Backoff(initial: .milliseconds(500), maximum: .seconds(5)) }
    /// A one-off etcd read the agent cannot go on without (the first lease listing).
    public static var etcdRead: Backoff { Backoff(initial: .milliseconds(200), maximum: .seconds(5)) }
    /// Re-opening a broken lease watch: quick first, since forwarding goes on meanwhile.
    public static var leaseWatch: Backoff { Backoff(initial: .milliseconds(100), maximum: .seconds(5)) }
    /// Lease registry calls (acquire, renew, reclaim): the lease is kept meanwhile, and a long
    /// outage must not become a request storm when etcd returns.
    public static var leaseCall: Backoff { Backoff(initial: .milliseconds(500), maximum: .seconds(30)) }
}
