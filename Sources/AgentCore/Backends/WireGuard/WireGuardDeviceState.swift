/// A WireGuard device as its UAPI `get=1` answer shows it (wireguard-go), or the kernel's
/// `WG_CMD_GET_DEVICE`: what the data path compares against the peers it wants.
public struct WireGuardDeviceState: Equatable, Sendable {
    public var privateKey: WireGuardSecret?
    public var listenPort: Int
    public var peers: [Peer]

    public init(privateKey: WireGuardSecret? = nil, listenPort: Int = 0, peers: [Peer] = []) {
        self.privateKey = privateKey
        self.listenPort = listenPort
        self.peers = peers
    }

    public struct Peer: Equatable, Sendable {
        public var publicKey: WireGuardKey
        public var presharedKey: WireGuardSecret?
        public var endpoint: String?
        public var allowedIPs: [String]
        public var persistentKeepalive: Int
        /// Seconds since the epoch of the last handshake; 0: none yet.
        public var lastHandshake: Int
        public var receivedBytes: Int
        public var sentBytes: Int

        public init(publicKey: WireGuardKey, presharedKey: WireGuardSecret? = nil, endpoint: String? = nil, allowedIPs: [String] = [],
                    persistentKeepalive: Int = 0, lastHandshake: Int = 0, receivedBytes: Int = 0, sentBytes: Int = 0) {
            self.publicKey = publicKey
            self.presharedKey = presharedKey
            self.endpoint = endpoint
            self.allowedIPs = allowedIPs
            self.persistentKeepalive = persistentKeepalive
            self.lastHandshake = lastHandshake
            self.receivedBytes = receivedBytes
            self.sentBytes = sentBytes
        }

        /// Whether this entry already is `wanted` (counters and handshakes aside).
        public func matches(_ wanted: WireGuardPeerConfig) -> Bool {
            publicKey == wanted.publicKey && endpoint == wanted.endpoint && allowedIPs.sorted() == wanted.allowedIPs.sorted()
                && persistentKeepalive == wanted.persistentKeepalive && presharedKey == wanted.presharedKey
        }
    }
}
