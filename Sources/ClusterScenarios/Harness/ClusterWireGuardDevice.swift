/// `flannel-wg` as `wg show flannel-wg dump` shows it: the device's public key and, per
/// peer, `<public key> <endpoint> <allowed IPs>`, sorted.
public struct ClusterWireGuardDevice: Equatable, Sendable {
    public var publicKey: String
    public var peers: [String]

    public init(publicKey: String, peers: [String]) {
        self.publicKey = publicKey
        self.peers = peers.sorted()
    }
}
