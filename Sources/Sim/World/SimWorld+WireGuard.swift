import AgentCore

/// The wireguard data path: the kernel routes the flannel network into `flannel-wg`, which
/// picks the peer by allowed IPs, makes a session with a handshake (one round trip over the
/// underlay, retried after 5 s) and sends the packet sealed to that peer's key on UDP 51820;
/// the receiver opens it with its own key and drops what does not open or comes from outside
/// the sender's allowed IPs.
extension SimWorld {
    /// What crosses the underlay between two WireGuard devices.
    struct WireGuardFrame {
        enum Kind { case initiation, response, data }
        var kind: Kind
        var sender: WireGuardKey
        var receiver: WireGuardKey
        var sourcePort: Int
        var destinationPort: Int
        var sealed: [UInt8] = []

        /// The UDP payload's length as tcpdump would print it: WireGuard's message sizes (data:
        /// a 16-byte header, the packet padded to 16 bytes, a 16-byte tag).
        var length: Int {
            switch kind {
            case .initiation: 148
            case .response: 92
            case .data: 32 + (max(sealed.count - 8, 0) + 15) / 16 * 16
            }
        }
    }

    /// Sessions are used for 180 s (REJECT_AFTER_TIME), renewed from 120 s (REKEY_AFTER_TIME)
    /// or after 15 s without an answer (KEEPALIVE + REKEY_TIMEOUT); a lost handshake is retried after 5 s.
    static let wireGuardRejectAfter = Duration.seconds(180)
    static let wireGuardRekeyAfter = Duration.seconds(120)
    static let wireGuardSilenceLimit = Duration.seconds(15)
    static let wireGuardRetry = Duration.seconds(5)
    static let wireGuardQueueLimit = 16

    /// A packet the kernel routed into `flannel-wg` (TTL already taken down).
    func wireGuardSend(_ host: SimHost, _ packet: [UInt8]) {
        guard var device = host.wireguard else { return drop(host, "flannel-wg: no device") }
        let destination = SimPacket.destination(packet)
        guard let key = device.peer(for: destination), var peer = device.peers[key] else {
            return drop(host, "flannel-wg: no peer allows \(destination)")
        }
        let live = peer.session.map { now - $0 < Self.wireGuardRejectAfter } ?? false
        let stale = peer.session.map { now - $0 >= Self.wireGuardRekeyAfter } ?? true
        let silent = live && (peer.lastReceived.map { now - $0 > Self.wireGuardSilenceLimit } ?? true)
        let retryDue = peer.initiatedAt.map { now - $0 >= Self.wireGuardRetry } ?? true
        if (!live || stale || silent) && retryDue {
            peer.initiatedAt = now
            initiateHandshake(from: host, device: device, to: peer)
        }
        if live {
            device.peers[key] = peer
            host.wireguard = device
            sealAndSend(from: host, device: device, to: peer, packet)
        } else {
            if peer.queued.count >= Self.wireGuardQueueLimit {
                peer.queued.removeFirst()
                drop(host, "flannel-wg: handshake queue full")
            }
            peer.queued.append(packet)
            device.peers[key] = peer
            host.wireguard = device
        }
    }

    private func initiateHandshake(from host: SimHost, device: SimWireGuardDevice, to peer: SimWireGuardDevice.Peer) {
        guard let endpoint = peer.endpoint else { return drop(host, "flannel-wg: peer without an endpoint") }
        underlaySend(from: host, to: endpoint.address, .wireguard(WireGuardFrame(
            kind: .initiation, sender: device.publicKey, receiver: peer.config.publicKey, sourcePort: device.listenPort, destinationPort: endpoint.port)))
    }

    private func sealAndSend(from host: SimHost, device: SimWireGuardDevice, to peer: SimWireGuardDevice.Peer, _ packet: [UInt8]) {
        guard let endpoint = peer.endpoint else { return drop(host, "flannel-wg: peer without an endpoint") }
        let secret = SimWireGuardCrypto.sharedSecret(device.privateKey, peer.config.publicKey)
        underlaySend(from: host, to: endpoint.address, .wireguard(WireGuardFrame(
            kind: .data, sender: device.publicKey, receiver: peer.config.publicKey, sourcePort: device.listenPort,
            destinationPort: endpoint.port, sealed: SimWireGuardCrypto.seal(packet, secret: secret))))
    }

    /// A WireGuard datagram arriving at `host` from `sender`'s underlay address.
    func wireGuardReceive(_ host: SimHost, from sender: IPv4Address, _ frame: WireGuardFrame) {
        guard var device = host.wireguard, device.listenPort == frame.destinationPort else {
            return drop(host, "udp \(frame.destinationPort): no wireguard device listening")
        }
        guard frame.receiver == device.publicKey else { return drop(host, "flannel-wg: message for another key") }
        guard var peer = device.peers[frame.sender] else { return drop(host, "flannel-wg: message from an unknown key") }
        /// A handshake done (either side): the session starts, and what waited for it goes.
        func establish() {
            peer.session = now
            peer.lastReceived = now
            peer.initiatedAt = nil
            let queued = peer.queued
            peer.queued = []
            device.peers[frame.sender] = peer
            host.wireguard = device
            for packet in queued { sealAndSend(from: host, device: device, to: peer, packet) }
        }
        switch frame.kind {
        case .initiation:
            underlaySend(from: host, to: sender, .wireguard(WireGuardFrame(
                kind: .response, sender: device.publicKey, receiver: frame.sender, sourcePort: device.listenPort, destinationPort: frame.sourcePort)))
            establish()
        case .response:
            guard peer.initiatedAt != nil else { return drop(host, "flannel-wg: response to no handshake") }
            establish()
        case .data:
            guard let session = peer.session, now - session < Self.wireGuardRejectAfter + .seconds(10) else {
                return drop(host, "flannel-wg: data without a session")
            }
            let secret = SimWireGuardCrypto.sharedSecret(device.privateKey, frame.sender)
            guard let packet = SimWireGuardCrypto.open(frame.sealed, secret: secret) else {
                return drop(host, "flannel-wg: payload does not open with our key")
            }
            guard packet.count >= 20, peer.allows(SimPacket.source(packet)) else {
                return drop(host, "flannel-wg: source outside the peer's allowed IPs")
            }
            peer.lastReceived = now
            device.peers[frame.sender] = peer
            host.wireguard = device
            hostReceive(host, packet, from: .tunnel)
        }
    }

    /// `ip link del flannel-wg` on `host` (or wireguard-go killed): the device, its sessions
    /// and its route go; the key file stays.
    public func deleteWireGuardDevice(on host: SimHost) {
        guard host.wireguard != nil else { return }
        host.wireguard = nil
        record("\(host.name) flannel-wg deleted by hand")
    }
}
