/// host-gw: a plain route per peer, `<peer subnet> via <PublicIP> dev <external>`. Every host
/// must share one L2 and be reachable at its interface address.
public struct HostGWBackend: Backend {
    public static let typeName = "host-gw"

    public init() {}

    public static func decode(_ backend: JSONValue) throws(ConfigError) -> HostGWBackend { HostGWBackend() }

    public var description: String { "host-gw" }

    public func refusal(on host: BackendHost) -> String? {
        // Peers send straight to our PublicIP as the next hop: it must be this interface's own address.
        guard host.publicIP != host.externalAddress else { return nil }
        return "host-gw backend: the public IP \(host.publicIP) is not \(host.externalName)'s address \(host.externalAddress) (NAT, or --public-ip set to another address); host-gw needs peers to reach this host directly at its interface address: drop --public-ip, or use the vxlan backend"
    }

    public func mtu(on host: BackendHost) -> Int { host.externalMTU }

    public func leaseAttributes(publicIP: IPv4Address, device: BackendDeviceIdentity?) -> LeaseAttributes {
        LeaseAttributes(publicIP: publicIP, backendType: Self.typeName)
    }

    public var carriesIPv6: Bool { true }

    public var forwarding: BackendForwarding { .kernel }

    public func ignoreReason(_ peer: Peer, on host: KernelPeerContext<IPv4Address>) -> String? {
        guard let network = host.externalNetwork, !network.contains(peer.publicIP) else { return nil }
        return "its PublicIP \(peer.publicIP) is not on \(host.external.name)'s network \(network): host-gw needs every host on one L2 (use vxlan, or vxlan with DirectRouting)"
    }

    public func program(_ peer: Peer, on host: KernelPeerContext<IPv4Address>) -> KernelPeerProgram<IPv4Address>? {
        guard let subnet = peer.subnet else { return nil }
        return KernelPeerProgram(subnet: subnet, route: KernelRoute(
            destination: subnet, gateway: peer.publicIP, device: host.external, onlink: false))
    }

    public func ipv6IgnoreReason(_ peer: Peer, on host: KernelPeerContext<IPv6Address>) -> String? {
        guard let publicIPv6 = peer.publicIPv6 else { return "its lease has no PublicIPv6" }
        guard let network = host.externalNetwork, !network.contains(publicIPv6) else { return nil }
        return "its PublicIPv6 \(publicIPv6) is not on \(host.external.name)'s IPv6 network \(network): host-gw needs every host on one L2 (use vxlan, or vxlan with DirectRouting)"
    }

    /// The IPv6 half: `<peer IPv6 subnet> via <PublicIPv6> dev <external>`.
    public func programIPv6(_ peer: Peer, on host: KernelPeerContext<IPv6Address>) -> KernelPeerProgram<IPv6Address>? {
        guard let subnet = peer.ipv6Subnet, let publicIPv6 = peer.publicIPv6 else { return nil }
        return KernelPeerProgram(subnet: subnet, route: KernelRoute(
            destination: subnet, gateway: publicIPv6, device: host.external, onlink: false))
    }
}
