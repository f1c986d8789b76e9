import AgentCore

/// A host of the cluster: h1, h2, … with its underlay (public) address.
public struct ClusterHost: Hashable, Sendable, CustomStringConvertible {
    public var index: Int
    public var publicIP: IPv4Address

    public init(index: Int, publicIP: IPv4Address) {
        self.index = index
        self.publicIP = publicIP
    }

    public var name: String { "h\(index)" }
    public var description: String { name }
}
