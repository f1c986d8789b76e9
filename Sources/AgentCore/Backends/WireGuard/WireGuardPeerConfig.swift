/// What one peer is on our WireGuard device: its public key, where to send to, which
/// destinations go to it.
public struct WireGuardPeerConfig: Equatable, Sendable, CustomStringConvertible {
    public var publicKey: WireGuardKey
    /// `1.2.3.4:51820`, or `[2001:db8::1]:51821`, as the UAPI writes endpoints.
    public var endpoint: String
    /// CIDRs in canonical form, as the UAPI writes them.
    public var allowedIPs: [String]
    public var presharedKey: WireGuardSecret?
    /// Whole seconds; 0 disables.
    public var persistentKeepalive: Int

    public init(publicKey: WireGuardKey, endpoint: String, allowedIPs: [String], presharedKey: WireGuardSecret? = nil, persistentKeepalive: Int = 0) {
        self.publicKey = publicKey
        self.endpoint = endpoint
        self.allowedIPs = allowedIPs
        self.presharedKey = presharedKey
        self.persistentKeepalive = persistentKeepalive
    }

    public var description: String { "peer \(publicKey) at \(endpoint) for \(allowedIPs.joined(separator: ", "))" }
}
