/// This host's subnets and the networks they lie in: what the data path, the traffic rules
/// and subnet.env are made for. Each family's pair is there exactly when the network has
/// that family: IPv4 alone, dual-stack, or IPv6 alone.
public struct OwnSubnets: Equatable, Sendable, CustomStringConvertible {
    public var network: IPv4Network?
    public var subnet: IPv4Network?
    public var ipv6Network: IPv6Network?
    public var ipv6Subnet: IPv6Network?

    public init(network: IPv4Network?, subnet: IPv4Network?, ipv6Network: IPv6Network? = nil, ipv6Subnet: IPv6Network? = nil) {
        self.network = network
        self.subnet = subnet
        self.ipv6Network = ipv6Network
        self.ipv6Subnet = ipv6Subnet
    }

    /// Our subnets in a lease under `key`, within the config's networks.
    public init(key: SubnetKey, config: NetworkConfig) {
        self.init(network: key.ipv4 == nil ? nil : config.ipv4?.network, subnet: key.ipv4,
                  ipv6Network: key.ipv6 == nil ? nil : config.ipv6?.network, ipv6Subnet: key.ipv6)
    }

    public var description: String {
        [subnet.map { "\($0)" }, ipv6Subnet.map { "\($0)" }].compactMap { $0 }.joined(separator: " and ")
    }
}
