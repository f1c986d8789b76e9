/// The peers of `flannel-wg` when it carries both families (`Mode` `auto`, `ipv4`, `ipv6`):
/// one per wireguard lease, allowed IPs both its subnets, its key from `BackendV6Data` when
/// the lease has an IPv6 half (else `BackendData`), and one endpoint chosen by the mode, as
/// upstream's `handleSubnetEvents` does.
public struct WireGuardSharedDevicePeers: Equatable, Sendable {
    public var backend: WireGuardBackend
    public var ipv4Network: IPv4Network?
    public var ipv6Network: IPv6Network?
    /// Our own lease's key: never a peer.
    public var ownKey: SubnetKey?
    /// Whether we can send over IPv4 (the host has an IPv4 address) and over a non-private
    /// IPv6 address: what `auto` weighs, as upstream's `selectPublicEndpoint`.
    public var localIPv4: Bool
    public var localPublicIPv6: Bool
    /// Our own public key: never a peer.
    public var ownPublicKey: WireGuardKey?

    public init(backend: WireGuardBackend, ipv4Network: IPv4Network?, ipv6Network: IPv6Network?, ownKey: SubnetKey?,
                localIPv4: Bool, localPublicIPv6: Bool, ownPublicKey: WireGuardKey? = nil) {
        self.ownPublicKey = ownPublicKey
        self.backend = backend
        self.ipv4Network = ipv4Network
        self.ipv6Network = ipv6Network
        self.ownKey = ownKey
        self.localIPv4 = localIPv4
        self.localPublicIPv6 = localPublicIPv6
    }

    /// The peer's key: its IPv6 half's when it has one, else its IPv4 half's.
    static func key(of peer: Peer) -> WireGuardKey? {
        peer.ipv6Subnet != nil ? WireGuardBackend.ipv6PublicKey(of: peer) : WireGuardBackend.publicKey(of: peer)
    }

    /// Why `peer` gets no entry, or nil.
    public func ignoreReason(_ peer: Peer) -> String? {
        guard peer.attributes.effectiveBackendType == WireGuardBackend.typeName else {
            return "its lease is for backend \(LogText.bounded(peer.attributes.effectiveBackendType, limit: 40)), this host runs wireguard"
        }
        if let subnet = peer.subnet, let network = ipv4Network, !network.contains(subnet) { return "its subnet is outside the network \(network)" }
        if let subnet = peer.ipv6Subnet, let network = ipv6Network, !network.contains(subnet) { return "its IPv6 subnet is outside the network \(network)" }
        if let key = Self.key(of: peer) {
            if key == ownPublicKey { return "its PublicKey is this host's own (an old lease of ours, or a key file copied from this host)" }
            return endpoint(of: peer) == nil ? "its lease has no \(backend.mode == .ipv6 ? "PublicIPv6" : "usable PublicIP") for Mode \(backend.mode.rawValue)" : nil
        }
        let half = peer.ipv6Subnet != nil ? "BackendV6Data" : "BackendData"
        let data = LogText.bounded((peer.ipv6Subnet != nil ? peer.attributes.backendV6Data : peer.attributes.backendData)?.encoded ?? "nothing", limit: 120)
        return "its \(half) has no usable PublicKey (found \(data))"
    }

    /// `ipv4`: `PublicIP:port`; `ipv6`: `[PublicIPv6]:port`; `auto`: the one address there is,
    /// else IPv4 unless it is private (RFC 1918) or we have none, then IPv6 unless either end's
    /// is private (fc00::/7), else IPv4. Always our `ListenPort`, as upstream.
    func endpoint(of peer: Peer) -> String? {
        let port = backend.listenPort
        let ipv4 = peer.publicIP == .any ? nil : peer.publicIP
        let ipv6 = peer.publicIPv6
        switch backend.mode {
        case .ipv4, .separate: return ipv4.map { "\($0):\(port)" }
        case .ipv6: return ipv6.map { "[\($0)]:\(port)" }
        case .auto:
            guard let ipv4 else { return ipv6.map { "[\($0)]:\(port)" } }
            guard let ipv6 else { return "\(ipv4):\(port)" }
            if !Self.isPrivate(ipv4) && localIPv4 { return "\(ipv4):\(port)" }
            if !Self.isPrivate(ipv6) && localPublicIPv6 { return "[\(ipv6)]:\(port)" }
            return "\(ipv4):\(port)"
        }
    }

    static func isPrivate(_ address: IPv4Address) -> Bool {
        ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].contains { IPv4Network($0)!.contains(address) }
    }

    public static func isPrivate(_ address: IPv6Address) -> Bool {
        IPv6Network("fc00::/7")!.contains(address)
    }

    /// Each usable peer's entry, in subnet order.
    public func wanted(_ peers: [Peer]) -> [WireGuardPeerConfig] {
        var configs: [WireGuardPeerConfig] = []
        var indexByKey: [WireGuardKey: Int] = [:]
        for peer in peers.sorted(by: { "\($0.key)" < "\($1.key)" }) where peer.key != ownKey && ignoreReason(peer) == nil {
            guard let key = Self.key(of: peer), let endpoint = endpoint(of: peer) else { continue }
            let allowed = [peer.subnet.map { "\($0)" }, peer.ipv6Subnet.map { "\($0)" }].compactMap { $0 }
            if let index = indexByKey[key] {
                configs[index].allowedIPs += allowed
            } else {
                indexByKey[key] = configs.count
                configs.append(WireGuardPeerConfig(publicKey: key, endpoint: endpoint, allowedIPs: allowed,
                                                   presharedKey: backend.presharedKey, persistentKeepalive: backend.persistentKeepalive))
            }
        }
        return configs
    }
}
