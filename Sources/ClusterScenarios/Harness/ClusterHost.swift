import AgentCore

/// A host of the cluster: h1, h2, … with its underlay (public) addresses.
public struct ClusterHost: Hashable, Sendable, CustomStringConvertible {
    public var index: Int
    public var publicIP: IPv4Address
    /// eth0's IPv6 address (both worlds give every host one; dual-stack networks use it).
    public var publicIPv6: IPv6Address?

    public init(index: Int, publicIP: IPv4Address, publicIPv6: IPv6Address? = nil) {
        self.index = index
        self.publicIP = publicIP
        self.publicIPv6 = publicIPv6
    }

    public var name: String { "h\(index)" }
    public var description: String { name }
}
