/// Another host's lease: its subnet and how to reach it.
public struct Peer: Equatable, Sendable, CustomStringConvertible {
    public var key: SubnetKey
    public var attributes: LeaseAttributes

    public init(key: SubnetKey, attributes: LeaseAttributes) {
        self.key = key
        self.attributes = attributes
    }

    /// The IPv4 half; nil for an IPv6-only network's lease.
    public var subnet: IPv4Network? { key.ipv4 }
    public var publicIP: IPv4Address { attributes.publicIP }
    /// The IPv6 half of a dual-stack lease.
    public var ipv6Subnet: IPv6Network? { key.ipv6 }
    public var publicIPv6: IPv6Address? { attributes.publicIPv6 }

    /// The backend type is the writer's text: bounded and escaped.
    public var description: String { "\(key.subnets) via \(key.ipv4 == nil ? attributes.publicIPv6.map { "\($0)" } ?? "?" : "\(attributes.publicIP)") (\(LogText.bounded(attributes.effectiveBackendType, limit: 40)))" }
}
