import AgentCore

/// `flannel-wg` on a simulated host: kernel state (or a wireguard-go left running), so it
/// outlives the agent that made it. Its peers as the agent configured them, and per peer the
/// session a handshake made, with the packets waiting for one.
public struct SimWireGuardDevice: Sendable {
    public static let device = KernelDevice(index: 5, name: WireGuardBackend.deviceName)

    public var privateKey: WireGuardKey
    public var publicKey: WireGuardKey
    public var listenPort: Int
    public var mtu: Int
    /// Our subnet's base address (/32), once the agent has a lease.
    public var address: IPv4Address?
    /// The flannel network, routed through the device (`<network> dev flannel-wg`).
    public var network: IPv4Network?
    public var peers: [WireGuardKey: Peer] = [:]

    public struct Peer: Sendable {
        public var config: WireGuardPeerConfig
        /// When the last handshake completed; nil: no session.
        public var session: Timestamp?
        /// When we last sent a handshake initiation (retried after 5 s, as WireGuard's REKEY_TIMEOUT).
        var initiatedAt: Timestamp?
        /// When an authenticated packet last came from this peer.
        var lastReceived: Timestamp?
        /// Packets waiting for the handshake (WireGuard queues a few).
        var queued: [[UInt8]] = []

        /// The peer's endpoint as an underlay address and port.
        var endpoint: (address: IPv4Address, port: Int)? {
            guard let colon = config.endpoint.lastIndex(of: ":"), let address = IPv4Address(String(config.endpoint[..<colon])),
                  let port = Int(config.endpoint[config.endpoint.index(after: colon)...]) else { return nil }
            return (address, port)
        }

        /// Whether `address` is in the peer's allowed IPs (WireGuard's cryptokey routing).
        func allows(_ address: IPv4Address) -> Bool {
            config.allowedIPs.contains { IPv4Network($0)?.contains(address) ?? false }
        }
    }

    /// The device's peers as the agent's resync reads them back.
    public var state: WireGuardDeviceState {
        WireGuardDeviceState(privateKey: WireGuardSecret(privateKey), listenPort: listenPort, peers: peers.values.map { peer in
            WireGuardDeviceState.Peer(publicKey: peer.config.publicKey, presharedKey: peer.config.presharedKey, endpoint: peer.config.endpoint,
                                      allowedIPs: peer.config.allowedIPs, persistentKeepalive: peer.config.persistentKeepalive)
        }.sorted { $0.publicKey.base64 < $1.publicKey.base64 })
    }

    /// Applies a plan as the UAPI would: removals end sessions; a set keeps the session of a
    /// peer that stays (WireGuard does not re-handshake on a new endpoint or allowed IPs).
    mutating func apply(_ plan: WireGuardPeerPlan) {
        for key in plan.removals { peers[key] = nil }
        for config in plan.updates {
            if peers[config.publicKey] != nil {
                peers[config.publicKey]?.config = config
            } else {
                peers[config.publicKey] = Peer(config: config)
            }
        }
    }

    /// The peer whose allowed IPs hold `destination` (the most specific, as WireGuard's trie).
    func peer(for destination: IPv4Address) -> WireGuardKey? {
        var best: (key: WireGuardKey, length: Int)?
        for (key, peer) in peers {
            for allowed in peer.config.allowedIPs {
                guard let network = IPv4Network(allowed), network.contains(destination) else { continue }
                if best == nil || network.prefixLength > best!.length { best = (key, network.prefixLength) }
            }
        }
        return best?.key
    }
}
