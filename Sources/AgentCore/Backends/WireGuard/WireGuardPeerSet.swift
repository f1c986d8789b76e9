/// The WireGuard peers one of a host's devices wants (`flannel-wg` for IPv4, `flannel-wg-v6`
/// for IPv6): one per usable lease of the wireguard backend with a subnet of that family
/// inside the network, other than our own. The checks are the kernel planner's, so every data
/// path ignores the same leases for the same reasons.
public struct WireGuardPeerSet<Address: WireGuardAddressFamily>: Equatable, Sendable {
    public var backend: WireGuardBackend
    public var network: IPNetwork<Address>
    public var ownSubnet: IPNetwork<Address>?
    /// Our own public key: never a peer (an old lease of ours, a key file copied from this host).
    public var ownPublicKey: WireGuardKey?

    public init(backend: WireGuardBackend, network: IPNetwork<Address>, ownSubnet: IPNetwork<Address>?, ownPublicKey: WireGuardKey? = nil) {
        self.backend = backend
        self.network = network
        self.ownSubnet = ownSubnet
        self.ownPublicKey = ownPublicKey
    }

    /// Why `peer` gets no entry on the device, or nil when it gets one.
    public func ignoreReason(_ peer: Peer) -> String? {
        guard peer.attributes.effectiveBackendType == WireGuardBackend.typeName else {
            return "its lease is for backend \(LogText.bounded(peer.attributes.effectiveBackendType, limit: 40)), this host runs wireguard"
        }
        if let subnet = Address.subnet(of: peer), !network.contains(subnet) {
            return "its \(Address.bitWidth == 32 ? "" : "IPv6 ")subnet is outside the network \(network)"
        }
        if let reason = Address.peerIgnoreReason(backend, peer) { return reason }
        if let ownPublicKey, Address.peerConfig(backend, peer)?.publicKey == ownPublicKey {
            return "its PublicKey is this host's own (an old lease of ours, or a key file copied from this host)"
        }
        return nil
    }

    /// Each usable peer's entry, in subnet order. Two leases with one key (a host that moved
    /// subnet, its old lease not yet expired) make one peer with both subnets: WireGuard
    /// allows a key once per device.
    public func wanted(_ peers: [Peer]) -> [WireGuardPeerConfig] {
        var configs: [WireGuardPeerConfig] = []
        var indexByKey: [WireGuardKey: Int] = [:]
        for peer in peers.sorted(by: { (Address.subnet(of: $0) ?? network) < (Address.subnet(of: $1) ?? network) }) {
            guard let subnet = Address.subnet(of: peer), subnet != ownSubnet, ignoreReason(peer) == nil,
                  let config = Address.peerConfig(backend, peer) else { continue }
            if let index = indexByKey[config.publicKey] {
                configs[index].allowedIPs += config.allowedIPs
            } else {
                indexByKey[config.publicKey] = configs.count
                configs.append(config)
            }
        }
        return configs
    }
}
