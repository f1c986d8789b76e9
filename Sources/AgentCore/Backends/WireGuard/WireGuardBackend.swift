/// wireguard: an encrypted overlay on `flannel-wg`, as upstream's `backend/wireguard`
/// (v0.20.2): lease `BackendData {"PublicKey": …}`, one WireGuard peer per host (its public
/// key, endpoint `PublicIP:<port>`, allowed IPs its subnet), the whole network routed through
/// the device. Which WireGuard runs it (kernel or wireguard-go) is the Linux half's business.
public struct WireGuardBackend: Backend {
    public static let typeName = "wireguard"
    public static let deviceName = "flannel-wg"
    public static let ipv6DeviceName = "flannel-wg-v6"
    public static let defaultPort = 51820
    public static let defaultIPv6Port = 51821
    /// Outer IPv6 header (40, the worse case) + UDP (8) + WireGuard's data header and tag (32):
    /// upstream subtracts this whichever family the underlay is.
    public static let overhead = 80

    public var listenPort: Int
    public var listenPortV6: Int
    public var presharedKey: WireGuardSecret?
    /// Whole seconds; 0 disables.
    public var persistentKeepalive: Int
    public var mode: WireGuardMode
    /// The underlay MTU to assume (upstream v0.21's `MTU`); 0: the external interface's.
    public var underlayMTU: Int

    public init(listenPort: Int = defaultPort, listenPortV6: Int = defaultIPv6Port, presharedKey: WireGuardSecret? = nil,
                persistentKeepalive: Int = 0, mode: WireGuardMode = .separate, underlayMTU: Int = 0) {
        self.listenPort = listenPort
        self.listenPortV6 = listenPortV6
        self.presharedKey = presharedKey
        self.persistentKeepalive = persistentKeepalive
        self.mode = mode
        self.underlayMTU = underlayMTU
    }

    public static func decode(_ backend: JSONValue) throws(ConfigError) -> WireGuardBackend {
        let fields = BackendFields(backend)
        let port = try fields.integer("ListenPort", default: defaultPort, range: 1...65_535, hint: "a UDP port from 1 to 65535 (default \(defaultPort))")
        let portV6 = try fields.integer("ListenPortV6", default: defaultIPv6Port, range: 1...65_535, hint: "a UDP port from 1 to 65535 (default \(defaultIPv6Port))")
        let keepalive = try fields.integer("PersistentKeepaliveInterval", default: 0, range: 0...65_535,
                                           hint: "whole seconds from 0 (off) to 65535")
        let mtu = try fields.integer("MTU", default: 0, range: 0...65_535, hint: "the underlay MTU (device MTU = it − \(overhead)), or 0 for the external interface's")
        if mtu != 0 && mtu - overhead < 68 {
            throw ConfigError(field: "Backend.MTU", "\(mtu) leaves \(mtu - overhead) after WireGuard's \(overhead) bytes, below IPv4's minimum of 68; use at least \(68 + overhead), or 0 for the external interface's MTU")
        }
        var psk: WireGuardSecret?
        if let value = backend.member("PSK"), value != .null {
            guard let text = value.stringValue else {
                throw ConfigError(field: "Backend.PSK", "must be a string (base64 of 32 bytes, as `wg genpsk` prints), not \(value.typeName)")
            }
            if !text.isEmpty {
                // Never echo the value: it is a secret.
                guard let key = WireGuardKey(base64: text) else {
                    throw ConfigError(field: "Backend.PSK", "is not base64 of exactly 32 bytes; generate one with `wg genpsk`, or leave PSK out")
                }
                psk = WireGuardSecret(key)
            }
        }
        var mode = WireGuardMode.separate
        if let value = backend.member("Mode"), value != .null {
            let modes = WireGuardMode.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            guard let text = value.stringValue, let chosen = WireGuardMode(rawValue: text) else {
                throw ConfigError(field: "Backend.Mode", "\(value.stringValue.map { LogText.quoted($0, limit: 20) } ?? value.typeName) is not a mode; use one of \(modes) (lower case, as upstream)")
            }
            mode = chosen
        }
        return WireGuardBackend(listenPort: port, listenPortV6: portV6, presharedKey: psk, persistentKeepalive: keepalive, mode: mode, underlayMTU: mtu)
    }

    public var description: String {
        var parts = ["port \(listenPort)"]
        if presharedKey != nil { parts.append("PSK") }
        if persistentKeepalive != 0 { parts.append("keepalive \(persistentKeepalive) s") }
        if underlayMTU != 0 { parts.append("MTU \(underlayMTU)") }
        if mode != .separate { parts.append("mode \(mode.rawValue)") }
        return "wireguard (\(parts.joined(separator: ", ")))"
    }

    public func refusal(on host: BackendHost) -> String? {
        let mtu = mtu(on: host)
        guard mtu < 68 else { return nil }
        return "wireguard backend: \(host.externalName)'s MTU \(host.externalMTU) leaves \(mtu) after \(Self.overhead) bytes of WireGuard, below IPv4's minimum of 68"
    }

    public func mtu(on host: BackendHost) -> Int {
        (underlayMTU == 0 ? host.externalMTU : underlayMTU) - Self.overhead
    }

    public func device(on host: BackendHost) -> BackendDevice? {
        .wireguard(name: Self.deviceName, port: listenPort, mtu: mtu(on: host))
    }

    public func leaseAttributes(publicIP: IPv4Address, device: BackendDeviceIdentity?) -> LeaseAttributes {
        LeaseAttributes(publicIP: publicIP, backendType: Self.typeName, backendData: .object([
            ("PublicKey", .string(device?.publicKey.map { $0.base64 } ?? "")),
        ]))
    }

    public var carriesIPv6: Bool { true }

    /// IPv6 runs on `flannel-wg-v6` in `Mode` `separate` (upstream's default), else on
    /// `flannel-wg` beside IPv4; either way the device must leave IPv6's minimum MTU.
    public func ipv6Refusal(on host: BackendHost) -> String? {
        if !sharesOneDevice, listenPort == listenPortV6 {
            return "wireguard backend: ListenPort and ListenPortV6 are both \(listenPort), but flannel-wg and flannel-wg-v6 each bind their port on both families; give ListenPortV6 another port (default 51821)"
        }
        let mtu = ipv6MTU(on: host)
        guard mtu < 1280 else { return nil }
        let device = mode == .separate ? Self.ipv6DeviceName : Self.deviceName
        return "wireguard backend: \(device)'s MTU would be \(mtu) (\(underlayMTU == 0 ? "\(host.externalName)'s MTU \(host.externalMTU)" : "Backend.MTU \(underlayMTU)") − \(Self.overhead)), below IPv6's minimum of 1280; raise the MTU, or set EnableIPv6 to false"
    }

    /// Whether one device (`flannel-wg`) carries both families: `Mode` `auto`, `ipv4`, `ipv6`.
    public var sharesOneDevice: Bool { mode != .separate }

    /// `flannel-wg-v6` in `Mode` `separate`; none otherwise (`flannel-wg` carries IPv6 too).
    public func ipv6Device(on host: BackendHost) -> BackendDevice? {
        sharesOneDevice ? nil : .wireguard(name: Self.ipv6DeviceName, port: listenPortV6, mtu: ipv6MTU(on: host))
    }

    /// `BackendV6Data` as upstream writes it: the same key.
    public func ipv6LeaseData(device: BackendDeviceIdentity?) -> JSONValue? {
        .object([("PublicKey", .string(device?.publicKey.map { $0.base64 } ?? ""))])
    }

    /// The peer's public key from `BackendV6Data.PublicKey`.
    public static func ipv6PublicKey(of peer: Peer) -> WireGuardKey? {
        guard let text = peer.attributes.backendV6Data?.member("PublicKey")?.stringValue else { return nil }
        return WireGuardKey(base64: text)
    }

    /// Why the IPv6 half of `peer`'s lease gets no entry on `flannel-wg-v6`, or nil.
    public func ipv6PeerIgnoreReason(_ peer: Peer) -> String? {
        guard peer.ipv6Subnet != nil else { return "its lease has no IPv6 subnet" }
        guard peer.publicIPv6 != nil else { return "its lease has no PublicIPv6" }
        guard Self.ipv6PublicKey(of: peer) == nil else { return nil }
        let data = LogText.bounded(peer.attributes.backendV6Data?.encoded ?? "nothing", limit: 120)
        return "its BackendV6Data has no usable PublicKey (found \(data))"
    }

    /// `peer`'s entry on `flannel-wg-v6`: its key, `[PublicIPv6]:<port>` (ListenPortV6, or
    /// the `Port` of its `BackendV6Data`), its IPv6 subnet.
    public func ipv6PeerConfig(_ peer: Peer) -> WireGuardPeerConfig? {
        guard let subnet = peer.ipv6Subnet, let address = peer.publicIPv6, let key = Self.ipv6PublicKey(of: peer) else { return nil }
        var port = listenPortV6
        if let leasePort = peer.attributes.backendV6Data?.member("Port")?.integerValue, (1...65_535).contains(leasePort) {
            port = leasePort
        }
        return WireGuardPeerConfig(publicKey: key, endpoint: "[\(address)]:\(port)", allowedIPs: ["\(subnet)"],
                                   presharedKey: presharedKey, persistentKeepalive: persistentKeepalive)
    }

    public var forwarding: BackendForwarding { .wireguard }

    /// The peer's public key from `BackendData.PublicKey`.
    public static func publicKey(of peer: Peer) -> WireGuardKey? {
        guard let text = peer.attributes.backendData?.member("PublicKey")?.stringValue else { return nil }
        return WireGuardKey(base64: text)
    }

    /// Why `peer` gets no WireGuard peer entry, or nil.
    public func peerIgnoreReason(_ peer: Peer) -> String? {
        guard peer.subnet != nil else { return "its lease has no IPv4 subnet" }
        guard Self.publicKey(of: peer) == nil else { return nil }
        let data = LogText.bounded(peer.attributes.backendData?.encoded ?? "nothing", limit: 120)
        return "its BackendData has no usable PublicKey (found \(data))"
    }

    /// `peer`'s entry on `flannel-wg`: its key, `PublicIP:<port>` (the lease's `Port` when
    /// it has one, as upstream v0.27 writes; else ours, as every host listens on the configured
    /// port), its subnet as the allowed IPs.
    public func peerConfig(_ peer: Peer) -> WireGuardPeerConfig? {
        guard let subnet = peer.subnet, let key = Self.publicKey(of: peer) else { return nil }
        var port = listenPort
        if let leasePort = peer.attributes.backendData?.member("Port")?.integerValue, (1...65_535).contains(leasePort) {
            port = leasePort
        }
        return WireGuardPeerConfig(publicKey: key, endpoint: "\(peer.publicIP):\(port)", allowedIPs: ["\(subnet)"],
                                   presharedKey: presharedKey, persistentKeepalive: persistentKeepalive)
    }
}
