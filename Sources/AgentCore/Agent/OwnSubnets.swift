/// This host's subnets and the networks they lie in: what the data path, the traffic rules
/// and subnet.env are made for. The IPv6 pair is there exactly when the network is dual-stack.
public struct OwnSubnets: Equatable, Sendable, CustomStringConvertible {
    public var network: IPv4Network
    public var subnet: IPv4Network
    public var ipv6Network: IPv6Network?
    public var ipv6Subnet: IPv6Network?

    public init(network: IPv4Network, subnet: IPv4Network, ipv6Network: IPv6Network? = nil, ipv6Subnet: IPv6Network? = nil) {
        self.network = network
        self.subnet = subnet
        self.ipv6Network = ipv6Network
        self.ipv6Subnet = ipv6Subnet
    }

    /// Our subnets in a lease under `key`, within the config's networks.
    public init(key: SubnetKey, config: NetworkConfig) {
        // The agent only runs with an IPv4 plan (checked when the config is read).
        self.init(network: config.ipv4?.network ?? key.ipv4, subnet: key.ipv4,
                  ipv6Network: key.ipv6 == nil ? nil : config.ipv6?.network, ipv6Subnet: key.ipv6)
    }

    public var description: String {
        guard let ipv6Subnet else { return "\(subnet)" }
        return "\(subnet) and \(ipv6Subnet)"
    }
}
