import AgentCore

extension SubnetFile {
    /// The subnets for people: `10.1.5.0/24`, `10.1.5.0/24 + fd00:10:1:5::/64`, `fd00:10:1:5::/64`.
    public var subnetsText: String {
        [subnet.map { "\($0)" }, ipv6Subnet.map { "\($0)" }].compactMap { $0 }.joined(separator: " + ")
    }

    /// The IPv4 network and subnet, for the lab's tools that run IPv4 networks (benches,
    /// demos); an IPv6-only file has none.
    public func ipv4Pair() throws -> (network: IPv4Network, subnet: IPv4Network) {
        guard let network, let subnet else {
            throw LabHost.MissingSubnet(host: "a host", variable: "FLANNEL_NETWORK and FLANNEL_SUBNET", hint: "this tool runs IPv4 networks, not IPv6-only ones")
        }
        return (network, subnet)
    }
}
