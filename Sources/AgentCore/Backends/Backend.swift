/// A backend's pure half, looked up by its type name as upstream's `backend/manager.go` does:
/// what its config means, what it needs of the host, the MTU it leaves, the device it wants
/// before the lease, what our lease says, and what each peer gets.
///
/// The daemon's Linux half (`LinuxBackend`) and the simulator carry out what this says; a
/// rule written here holds in both worlds. A new backend is one folder here plus one line in
/// `BackendCatalogue.registered`, and one folder plus one line on the Linux side.
public protocol Backend: Sendable, Equatable, CustomStringConvertible {
    /// `Backend.Type` in the network config (matched case-insensitively) and `BackendType` in leases.
    static var typeName: String { get }

    /// Decodes the config's `Backend` object, whose `Type` named this backend.
    static func decode(_ backend: JSONValue) throws(ConfigError) -> Self

    /// Why this backend cannot run on `host` as configured, saying what to change; nil when it can.
    func refusal(on host: BackendHost) -> String?

    /// The data path's MTU on `host` (subnet.env's `FLANNEL_MTU`).
    func mtu(on host: BackendHost) -> Int

    /// The device to have before the lease is taken (its identity goes into the lease), or nil.
    func device(on host: BackendHost) -> BackendDevice?

    /// Our lease's attributes; `device` identifies the device `device(on:)` asked for.
    func leaseAttributes(publicIP: IPv4Address, device: BackendDeviceIdentity?) -> LeaseAttributes

    /// Whether the backend carries IPv6 (a dual-stack network's second family).
    var carriesIPv6: Bool { get }

    /// Dual-stack: why this backend cannot carry IPv6 on `host` as configured, saying what to
    /// change; nil when it can.
    func ipv6Refusal(on host: BackendHost) -> String?

    /// The MTU the IPv6 device leaves: an IPv6-only network's `FLANNEL_MTU`.
    func ipv6MTU(on host: BackendHost) -> Int

    /// Dual-stack: the IPv6 device to have before the lease is taken, or nil.
    func ipv6Device(on host: BackendHost) -> BackendDevice?

    /// Dual-stack: our lease's `BackendV6Data`; `device` identifies `ipv6Device(on:)`'s device.
    func ipv6LeaseData(device: BackendDeviceIdentity?) -> JSONValue?

    /// How peers' traffic is carried.
    var forwarding: BackendForwarding { get }

    /// Kernel forwarding: why `peer` gets no kernel entries beyond the checks every backend
    /// shares (lease type, network), or nil.
    func ignoreReason(_ peer: Peer, on host: KernelPeerContext<IPv4Address>) -> String?

    /// Kernel forwarding: what `peer` (already found usable) needs in the kernel.
    func program(_ peer: Peer, on host: KernelPeerContext<IPv4Address>) -> KernelPeerProgram<IPv4Address>?

    /// Dual-stack: why the IPv6 half of `peer`'s lease gets no kernel entries, or nil.
    func ipv6IgnoreReason(_ peer: Peer, on host: KernelPeerContext<IPv6Address>) -> String?

    /// Dual-stack: what the IPv6 half of `peer`'s lease needs in the kernel.
    func programIPv6(_ peer: Peer, on host: KernelPeerContext<IPv6Address>) -> KernelPeerProgram<IPv6Address>?
}

extension Backend {
    public func refusal(on host: BackendHost) -> String? { nil }
    public func device(on host: BackendHost) -> BackendDevice? { nil }
    public var carriesIPv6: Bool { false }
    public func ipv6Refusal(on host: BackendHost) -> String? { nil }
    public func ipv6Device(on host: BackendHost) -> BackendDevice? { nil }
    public func ipv6MTU(on host: BackendHost) -> Int { mtu(on: host) }
    public func ipv6LeaseData(device: BackendDeviceIdentity?) -> JSONValue? { nil }
    public func ignoreReason(_ peer: Peer, on host: KernelPeerContext<IPv4Address>) -> String? { nil }
    public func program(_ peer: Peer, on host: KernelPeerContext<IPv4Address>) -> KernelPeerProgram<IPv4Address>? { nil }
    public func ipv6IgnoreReason(_ peer: Peer, on host: KernelPeerContext<IPv6Address>) -> String? { nil }
    public func programIPv6(_ peer: Peer, on host: KernelPeerContext<IPv6Address>) -> KernelPeerProgram<IPv6Address>? { nil }
    public var typeName: String { Self.typeName }

    /// Equality across the existential: same backend type, same settings.
    public func isEqual(to other: any Backend) -> Bool {
        (other as? Self) == self
    }
}

/// How a backend carries peers' traffic.
public enum BackendForwarding: Equatable, Sendable {
    /// The agent encapsulates in user space: flannel0 (TUN) and a UDP socket on `port`.
    case userSpaceUDP(port: Int)
    /// The kernel does, from per-peer entries (`Backend.program`) that the agent keeps in sync.
    case kernel
    /// A WireGuard device does (kernel or wireguard-go), from one peer per host
    /// (`WireGuardBackend.peerConfig`) and one route for the whole network.
    case wireguard
}

/// A device a backend wants before its lease is taken.
public enum BackendDevice: Equatable, Sendable {
    /// `flannel.<vni>`: kernel VXLAN on the external interface, learning off, with `mtu`.
    case vxlan(vni: Int, port: Int, mtu: Int)
    /// `flannel-v6.<vni>`: the same over the external interface's IPv6 address (dual-stack).
    case vxlanIPv6(vni: Int, port: Int, mtu: Int)
    /// `flannel-wg`: a WireGuard device listening on `port`, with `mtu`.
    case wireguard(name: String, port: Int, mtu: Int)

    public var name: String {
        switch self {
        case let .vxlan(vni, _, _): "flannel.\(vni)"
        case let .vxlanIPv6(vni, _, _): "flannel-v6.\(vni)"
        case let .wireguard(name, _, _): name
        }
    }
}
