/// What the wireguard backend's per-peer rules need of each address family: `flannel-wg`
/// takes the IPv4 half of each lease (`BackendData`), `flannel-wg-v6` the IPv6 half
/// (`BackendV6Data`).
public protocol WireGuardAddressFamily: KernelAddressFamily {
    static func peerIgnoreReason(_ backend: WireGuardBackend, _ peer: Peer) -> String?
    static func peerConfig(_ backend: WireGuardBackend, _ peer: Peer) -> WireGuardPeerConfig?
}

extension IPv4Address: WireGuardAddressFamily {
    public static func peerIgnoreReason(_ backend: WireGuardBackend, _ peer: Peer) -> String? { backend.peerIgnoreReason(peer) }
    public static func peerConfig(_ backend: WireGuardBackend, _ peer: Peer) -> WireGuardPeerConfig? { backend.peerConfig(peer) }
}

extension IPv6Address: WireGuardAddressFamily {
    public static func peerIgnoreReason(_ backend: WireGuardBackend, _ peer: Peer) -> String? { backend.ipv6PeerIgnoreReason(peer) }
    public static func peerConfig(_ backend: WireGuardBackend, _ peer: Peer) -> WireGuardPeerConfig? { backend.ipv6PeerConfig(peer) }
}
