import AgentCore

/// A running series of pings (`ClusterHarness.startPings`).
public final class PingSeries: Sendable {
    public let from: ClusterContainer
    public let to: IPv4Address
    public let interval: Duration
    /// The world's handle for it.
    public let token: Int

    public init(from: ClusterContainer, to: IPv4Address, interval: Duration, token: Int) {
        self.from = from
        self.to = to
        self.interval = interval
        self.token = token
    }
}
