/// vxlan: kernel VXLAN on `flannel.<VNI>`. Per peer (COMPAT.md, "Backends"): neighbour
/// `<peer subnet base> → VtepMAC`, forwarding entry `VtepMAC → PublicIP`, route
/// `<peer subnet> via <peer base> dev flannel.<VNI> onlink`; with DirectRouting and the peer on
/// the external interface's own network, a plain route via its PublicIP instead.
public struct VXLANBackend: Backend {
    public static let typeName = "vxlan"
    /// Linux's default VXLAN port (the config's 0).
    public static let defaultPort = 8472
    public static let defaultVNI = 1
    /// Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14).
    public static let overhead = 50
    /// Over an IPv6 underlay the outer header is 40 bytes: what the kernel gives `flannel-v6.<VNI>`.
    public static let ipv6Overhead = 70

    public var vni: Int
    public var port: Int
    public var directRouting: Bool
    /// 0: the external MTU − 50.
    public var configuredMTU: Int

    public init(vni: Int = defaultVNI, port: Int = defaultPort, directRouting: Bool = false, mtu: Int = 0) {
        self.vni = vni
        self.port = port
        self.directRouting = directRouting
        configuredMTU = mtu
    }

    public static func decode(_ backend: JSONValue) throws(ConfigError) -> VXLANBackend {
        let fields = BackendFields(backend)
        let vni = try fields.integer("VNI", default: defaultVNI, range: 0...16_777_215,
                                     hint: "a VXLAN network identifier from 0 to 16777215 (default 1)")
        let port = try fields.port(default: defaultPort)
        let direct = try fields.boolean("DirectRouting", default: false)
        let mtu = try fields.integer("MTU", default: 0, range: 0...65_535,
                                     hint: "the device MTU (68 to 65535), or 0 for the external MTU − 50")
        if mtu != 0 && mtu < 68 {
            throw ConfigError(field: "Backend.MTU", "\(mtu) is below IPv4's minimum of 68; use 68 to 65535, or 0 for the external MTU − 50")
        }
        return VXLANBackend(vni: vni, port: port, directRouting: direct, mtu: mtu)
    }

    public var description: String {
        "vxlan (VNI \(vni), port \(port)\(directRouting ? ", DirectRouting" : "")\(configuredMTU == 0 ? "" : ", MTU \(configuredMTU)"))"
    }

    public func refusal(on host: BackendHost) -> String? {
        let mtu = mtu(on: host)
        guard mtu < 68 else { return nil }
        return "vxlan backend: \(host.externalName)'s MTU \(host.externalMTU) leaves \(mtu) after \(Self.overhead) bytes of encapsulation, below IPv4's minimum of 68"
    }

    public func mtu(on host: BackendHost) -> Int {
        configuredMTU == 0 ? host.externalMTU - Self.overhead : configuredMTU
    }

    public func device(on host: BackendHost) -> BackendDevice? {
        .vxlan(vni: vni, port: port, mtu: mtu(on: host))
    }

    public func leaseAttributes(publicIP: IPv4Address, device: BackendDeviceIdentity?) -> LeaseAttributes {
        LeaseAttributes(publicIP: publicIP, backendType: Self.typeName, backendData: .object([
            ("VNI", .number("\(vni)")), ("VtepMAC", .string(device?.mac.map { "\($0)" } ?? "")),
        ]))
    }

    public var carriesIPv6: Bool { true }

    public func ipv6Device(on host: BackendHost) -> BackendDevice? {
        .vxlanIPv6(vni: vni, port: port, mtu: ipv6MTU(on: host))
    }

    /// `flannel-v6.<VNI>`'s MTU: the external MTU − 70, or the config's MTU if lower (the
    /// kernel refuses more than its lower device leaves).
    public func ipv6MTU(on host: BackendHost) -> Int {
        let most = host.externalMTU - Self.ipv6Overhead
        return configuredMTU == 0 ? most : min(configuredMTU, most)
    }

    public func ipv6Refusal(on host: BackendHost) -> String? {
        let name = BackendDevice.vxlanIPv6(vni: vni, port: port, mtu: 0).name
        if name.utf8.count > 15 {
            return "vxlan backend: with EnableIPv6 the IPv6 device would be \(name), longer than Linux's 15-character device names; use a VNI below 10000"
        }
        let mtu = ipv6MTU(on: host)
        if mtu < 1280 {
            return "vxlan backend: \(name)'s MTU would be \(mtu) (\(host.externalName)'s MTU \(host.externalMTU) − \(Self.ipv6Overhead)\(configuredMTU == 0 ? "" : ", or Backend.MTU \(configuredMTU)")), below IPv6's minimum of 1280; raise the MTU (or, on a dual-stack network, set EnableIPv6 to false)"
        }
        return nil
    }

    /// `BackendV6Data` as upstream writes it: the same VNI, the IPv6 device's MAC.
    public func ipv6LeaseData(device: BackendDeviceIdentity?) -> JSONValue? {
        .object([("VNI", .number("\(vni)")), ("VtepMAC", .string(device?.mac.map { "\($0)" } ?? ""))])
    }

    public var forwarding: BackendForwarding { .kernel }

    /// The peer's VTEP MAC from `BackendData.VtepMAC`.
    public static func vtepMAC(of peer: Peer) -> MACAddress? {
        guard let text = peer.attributes.backendData?.member("VtepMAC")?.stringValue else { return nil }
        return MACAddress(text)
    }

    public func ignoreReason(_ peer: Peer, on host: KernelPeerContext<IPv4Address>) -> String? {
        guard Self.vtepMAC(of: peer) == nil else { return nil }
        let data = LogText.bounded(peer.attributes.backendData?.encoded ?? "nothing", limit: 120)
        return "its BackendData has no usable VtepMAC (found \(data))"
    }

    /// The peer's IPv6 VTEP MAC from `BackendV6Data.VtepMAC`.
    public static func ipv6VtepMAC(of peer: Peer) -> MACAddress? {
        guard let text = peer.attributes.backendV6Data?.member("VtepMAC")?.stringValue else { return nil }
        return MACAddress(text)
    }

    public func ipv6IgnoreReason(_ peer: Peer, on host: KernelPeerContext<IPv6Address>) -> String? {
        guard peer.publicIPv6 != nil else { return "its lease has no PublicIPv6" }
        guard Self.ipv6VtepMAC(of: peer) == nil else { return nil }
        let data = LogText.bounded(peer.attributes.backendV6Data?.encoded ?? "nothing", limit: 120)
        return "its BackendV6Data has no usable VtepMAC (found \(data))"
    }

    /// The IPv6 half, as upstream programs it on `flannel-v6.<VNI>`: neighbour `<peer IPv6
    /// subnet base> → IPv6 VtepMAC`, forwarding entry `IPv6 VtepMAC → PublicIPv6`, route
    /// `<peer IPv6 subnet> via <base> dev flannel-v6.<VNI> onlink`; DirectRouting likewise.
    public func programIPv6(_ peer: Peer, on host: KernelPeerContext<IPv6Address>) -> KernelPeerProgram<IPv6Address>? {
        guard let subnet = peer.ipv6Subnet, let publicIPv6 = peer.publicIPv6 else { return nil }
        if directRouting, host.sharesL2(with: publicIPv6) {
            return KernelPeerProgram(subnet: subnet, route: KernelRoute(
                destination: subnet, gateway: publicIPv6, device: host.external, onlink: false))
        }
        guard let device = host.device, let mac = Self.ipv6VtepMAC(of: peer) else { return nil }
        let vtep = subnet.address
        return KernelPeerProgram(
            subnet: subnet,
            neighbour: KernelNeighbour(device: device, address: vtep, mac: mac),
            fdb: KernelFDBEntry(device: device, mac: mac, destination: publicIPv6),
            route: KernelRoute(destination: subnet, gateway: vtep, device: device, onlink: true))
    }

    public func program(_ peer: Peer, on host: KernelPeerContext<IPv4Address>) -> KernelPeerProgram<IPv4Address>? {
        guard let subnet = peer.subnet else { return nil }
        if directRouting, host.sharesL2(with: peer.publicIP) {
            return KernelPeerProgram(subnet: subnet, route: KernelRoute(
                destination: subnet, gateway: peer.publicIP, device: host.external, onlink: false))
        }
        guard let device = host.device, let mac = Self.vtepMAC(of: peer) else { return nil }
        let vtep = subnet.address
        return KernelPeerProgram(
            subnet: subnet,
            neighbour: KernelNeighbour(device: device, address: vtep, mac: mac),
            fdb: KernelFDBEntry(device: device, mac: mac, destination: peer.publicIP),
            route: KernelRoute(destination: subnet, gateway: vtep, device: device, onlink: true))
    }
}
