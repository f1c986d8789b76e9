import AgentCore

/// A container behind a host's docker0.
public struct ClusterContainer: Hashable, Sendable, CustomStringConvertible {
    public var host: ClusterHost
    /// 1, 2, … on its host.
    public var number: Int
    public var address: IPv4Address
    /// Its IPv6 address on a dual-stack network.
    public var ipv6: IPv6Address?

    public init(host: ClusterHost, number: Int, address: IPv4Address, ipv6: IPv6Address? = nil) {
        self.host = host
        self.number = number
        self.address = address
        self.ipv6 = ipv6
    }

    public var name: String { "\(host.name)c\(number)" }
    public var description: String { name }
}
