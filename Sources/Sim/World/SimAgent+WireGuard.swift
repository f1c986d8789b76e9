import AgentCore

/// The wireguard backend in the simulated agent: `flannel-wg` with the host's key, and its
/// peers set by the same peer set and plan the daemon's data path uses.
extension SimAgent {
    /// `flannel-wg` with the key from the host's key file (made on first use): a device
    /// already running with that key and port is kept with its peers and sessions.
    func ensureWireGuard(_ name: String, port: Int, mtu: Int) {
        let privateKey = host.wireGuardKeyFile ?? SimWireGuardCrypto.newPrivateKey(using: &world.random)
        if host.wireGuardKeyFile == nil {
            host.wireGuardKeyFile = privateKey
            world.record("\(host.name) made a new WireGuard key: public key \(SimWireGuardCrypto.publicKey(of: privateKey))")
        }
        if let existing = host.wireguard, existing.privateKey == privateKey, existing.listenPort == port {
            host.wireguard?.mtu = mtu
            world.record("\(host.name) reusing \(name) with \(existing.peers.count) peer(s)")
            return
        }
        host.wireguard = SimWireGuardDevice(privateKey: privateKey, publicKey: SimWireGuardCrypto.publicKey(of: privateKey), listenPort: port, mtu: mtu)
        world.record("\(host.name) created \(name) (public key \(SimWireGuardCrypto.publicKey(of: privateKey)), port \(port))")
    }

    /// The wireguard backend's wanted peers, as the daemon's data path builds them; nil for other backends.
    public var wireGuardPeerSet: WireGuardPeerSet<IPv4Address>? {
        guard let wireguard = backend.backend as? WireGuardBackend, let plan = machine.plan else { return nil }
        return WireGuardPeerSet(backend: wireguard, network: plan.network, ownSubnet: held?.key.ipv4)
    }

    /// The daemon's resync on `flannel-wg`: the device's peers turned into the wanted ones.
    /// False for other backends (or before the device and the table exist).
    func programWireGuard() -> Bool {
        guard let peerSet = wireGuardPeerSet, let peers = machine.table?.peers, let device = host.wireguard else { return false }
        let plan = WireGuardPeerPlan(current: device.state.peers, wanted: peerSet.wanted(peers))
        host.wireguard?.apply(plan)
        if world.options.tracesDetail {
            for key in plan.removals { world.record("\(host.name) removed WireGuard peer \(key)") }
            for peer in plan.updates { world.record("\(host.name) set WireGuard \(peer)") }
        }
        return true
    }
}
