import Logging

/// A backend's Linux half: carries out on a real host what its pure half (`Backend`) says.
/// Registered by type name in `LinuxBackends.registered`.
protocol LinuxBackend: Sendable {
    /// The pure half this one carries out.
    associatedtype Definition: Backend

    /// Makes what must exist before the lease is taken: the device the pure half asked for
    /// (vxlan's, whose MAC goes into the lease).
    static func prepare(_ backend: Definition, device: BackendDevice?, ipv6Device: BackendDevice?, on host: LinuxBackendHost) throws -> any PreparedBackend
}

/// A backend made ready before the lease.
protocol PreparedBackend: AnyObject {
    /// What identifies the device the pure half asked for (a MAC, a public key), for our lease.
    var deviceIdentity: BackendDeviceIdentity? { get }
    /// The same of its IPv6 device (dual-stack), for our lease's `BackendV6Data`.
    var ipv6DeviceIdentity: BackendDeviceIdentity? { get }

    /// Brings the data path up for our subnets. `onFailure` reports a data path that breaks
    /// later (a proxy thread): the agent exits so that the service manager restarts it.
    func start(_ subnets: OwnSubnets, onFailure: @escaping @Sendable (String) -> Void) throws -> any RunningDataPath
}

/// The running data path: told the peers, moved to a new subnet after a drift, ticked every
/// 10 s, stopped.
protocol RunningDataPath: AnyObject {
    func setPeers(_ peers: [Peer])
    /// Why a peer gets no data path entries, for the log; nil when it gets them.
    func ignoreReason(_ peer: Peer) -> String?
    /// Dual-stack: why a peer routed over IPv4 gets no IPv6 entries; nil when it gets them.
    func ipv6IgnoreReason(_ peer: Peer) -> String?
    func move(to subnets: OwnSubnets) throws
    /// `peers` is read only by a data path that resyncs (building the list costs a sort).
    func tick(peers: () -> [Peer])
    func stop()
    /// What `/metrics` shows while this data path runs.
    var metricsSource: (@Sendable (AgentMetrics) -> String)? { get }
}

extension PreparedBackend {
    var ipv6DeviceIdentity: BackendDeviceIdentity? { nil }
}

extension RunningDataPath {
    func ignoreReason(_ peer: Peer) -> String? { nil }
    func ipv6IgnoreReason(_ peer: Peer) -> String? { nil }
    var metricsSource: (@Sendable (AgentMetrics) -> String)? { nil }
}

/// The host as the Linux backends see it.
struct LinuxBackendHost {
    var external: NetworkInterface
    var publicIP: IPv4Address
    /// The IPv4 plan; nil on an IPv6-only network.
    var ipv4: SubnetPlan<IPv4Address>?
    /// The IPv6 plan (dual-stack or IPv6-only), and the external interface's IPv6 address.
    var ipv6: SubnetPlan<IPv6Address>?
    var externalIPv6: IPv6Address?
    var udpOffload: UDPOffloadMode
    var wireguardImplementation: WireGuardImplementation = .auto
    var logger: Logger
}

extension LinuxBackendHost {
    /// What the pure half knows of the host.
    var backendHost: BackendHost {
        BackendHost(publicIP: publicIP, externalName: external.name, externalAddress: external.address, externalMTU: external.mtu)
    }
}
