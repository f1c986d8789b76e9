/// Another host's lease: its subnet and how to reach it.
public struct Peer: Equatable, Sendable, CustomStringConvertible {
    public var key: SubnetKey
    public var attributes: LeaseAttributes

    public init(key: SubnetKey, attributes: LeaseAttributes) {
        self.key = key
        self.attributes = attributes
    }

    public var subnet: IPv4Network { key.ipv4 }
    public var publicIP: IPv4Address { attributes.publicIP }
    /// The IPv6 half of a dual-stack lease.
    public var ipv6Subnet: IPv6Network? { key.ipv6 }
    public var publicIPv6: IPv6Address? { attributes.publicIPv6 }

    /// The backend type is the writer's text: bounded and escaped.
    public var description: String { "\(key.ipv4) via \(attributes.publicIP) (\(LogText.bounded(attributes.effectiveBackendType, limit: 40)))" }
}
