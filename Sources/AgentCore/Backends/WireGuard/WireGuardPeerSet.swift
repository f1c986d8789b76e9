/// The WireGuard peers a host wants: one per usable lease of the wireguard backend, inside
/// the network, other than our own. The checks are the kernel planner's, so both data paths
/// ignore the same leases for the same reasons.
public struct WireGuardPeerSet: Equatable, Sendable {
    public var backend: WireGuardBackend
    public var network: IPv4Network
    public var ownSubnet: IPv4Network?

    public init(backend: WireGuardBackend, network: IPv4Network, ownSubnet: IPv4Network?) {
        self.backend = backend
        self.network = network
        self.ownSubnet = ownSubnet
    }

    /// Why `peer` gets no entry on the device, or nil when it gets one.
    public func ignoreReason(_ peer: Peer) -> String? {
        guard peer.attributes.effectiveBackendType == WireGuardBackend.typeName else {
            return "its lease is for backend \(LogText.bounded(peer.attributes.effectiveBackendType, limit: 40)), this host runs wireguard"
        }
        if let subnet = peer.subnet, !network.contains(subnet) {
            return "its subnet is outside the network \(network)"
        }
        return backend.peerIgnoreReason(peer)
    }

    /// Each usable peer's entry, in subnet order. Two leases with one key (a host that moved
    /// subnet, its old lease not yet expired) make one peer with both subnets: WireGuard
    /// allows a key once per device.
    public func wanted(_ peers: [Peer]) -> [WireGuardPeerConfig] {
        var configs: [WireGuardPeerConfig] = []
        var indexByKey: [WireGuardKey: Int] = [:]
        for peer in peers.sorted(by: { ($0.subnet ?? network) < ($1.subnet ?? network) }) {
            guard let subnet = peer.subnet, subnet != ownSubnet, ignoreReason(peer) == nil,
                  let config = backend.peerConfig(peer) else { continue }
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
