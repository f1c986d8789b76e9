import AgentCore

/// A subnet change an agent reported.
public struct ClusterDrift: Hashable, Sendable {
    public var from: IPv4Network
    public var to: IPv4Network

    public init(from: IPv4Network, to: IPv4Network) {
        self.from = from
        self.to = to
    }
}
