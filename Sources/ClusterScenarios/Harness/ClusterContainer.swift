import AgentCore

/// A container behind a host's docker0.
public struct ClusterContainer: Hashable, Sendable, CustomStringConvertible {
    public var host: ClusterHost
    /// 1, 2, … on its host.
    public var number: Int
    public var address: IPv4Address

    public init(host: ClusterHost, number: Int, address: IPv4Address) {
        self.host = host
        self.number = number
        self.address = address
    }

    public var name: String { "\(host.name)c\(number)" }
    public var description: String { name }
}
