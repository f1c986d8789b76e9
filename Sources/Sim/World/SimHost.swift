import AgentCore

/// A simulated host: its underlay address, the subnet.env that survives agent restarts, its
/// kernel state (flannel0, docker0, containers) and the agent running on it, if any.
public final class SimHost {
    public struct Container: Sendable, Equatable {
        public var name: String
        public var address: IPv4Address
        /// On a dual-stack network: its address in the host's IPv6 subnet.
        public var ipv6: IPv6Address? = nil
    }

    /// `flannel.<VNI>` (vxlan backend): kernel state, so it outlives the agent that made it.
    public struct VXLANDevice: Sendable, Equatable {
        public var device: KernelDevice
        public var mac: MACAddress
        public var vni: Int
        public var port: Int
        /// Our subnet's base address (/32), once the agent has a lease.
        public var address: IPv4Address?
        /// `flannel-v6.<VNI>`'s: our IPv6 subnet's base address (/128).
        public var ipv6Address: IPv6Address?
    }

    public struct Tunnel: Sendable, Equatable {
        /// Our lease's subnet; flannel0 has its first address.
        public var subnet: IPv4Network
        public var address: IPv4Address { subnet.address }
        public var mtu: Int
        /// The whole flannel network, routed through flannel0.
        public var network: IPv4Network
    }

    public let index: Int
    public let publicIP: IPv4Address
    /// eth0's IPv6 address: every simulated host has an IPv6 underlay beside the IPv4 one,
    /// used only by dual-stack networks.
    public let publicIPv6: IPv6Address
    public var name: String { "h\(index)" }
    public let underlayMTU = 1500

    /// subnet.env's text: written by the agent, read back by the next agent after a restart.
    public internal(set) var subnetFileText: String?
    /// subnet.env parsed.
    public internal(set) var subnetFile: SubnetFile? {
        get { subnetFileText.flatMap { try? SubnetFile.parse($0) } }
        set { subnetFileText = newValue?.rendered }
    }
    /// flannel0 and its network route; they exist while the agent's data path does.
    public internal(set) var tunnel: Tunnel?
    /// docker0's subnet, fixed when the containers were created (from subnet.env, as docker's --bip).
    public internal(set) var bridge: IPv4Network?
    /// docker0's IPv6 subnet on a dual-stack network.
    public internal(set) var ipv6Bridge: IPv6Network?
    public internal(set) var containers: [Container] = []
    /// The underlay interface, as the kernel backends' routes name it.
    public let eth0 = KernelDevice(index: 2, name: "eth0")
    /// The underlay's connected network (DirectRouting's "same L2").
    public let underlayNetwork: IPv4Network
    /// The IPv6 underlay's connected network.
    public let ipv6UnderlayNetwork = IPv6Network("2001:db8::/64")!
    /// The vxlan device, if a vxlan agent ever ran here.
    public internal(set) var vxlan: VXLANDevice?
    /// `flannel-v6.<VNI>`, if a dual-stack vxlan agent ever ran here.
    public internal(set) var ipv6VXLAN: VXLANDevice?
    /// `flannel-wg`, if a wireguard agent ever ran here.
    public internal(set) var wireguard: SimWireGuardDevice?
    /// `/run/flannel/wgkey`: the private key, kept across agent restarts.
    public internal(set) var wireGuardKeyFile: WireGuardKey?
    /// The routes, neighbours and forwarding entries the kernel backends program; like the
    /// real kernel's, they stay when the agent stops.
    public internal(set) var kernelTables = KernelTables<IPv4Address>()
    /// The same for the IPv6 half of a dual-stack network.
    public internal(set) var ipv6KernelTables = KernelTables<IPv6Address>()
    public internal(set) var agent: SimAgent?
    /// `--subnet-lease-ttl` for the next agent started here; nil: the world's.
    var agentLeaseTTL: Duration?
    /// Bumped whenever the agent process goes away, so late answers to a dead agent are dropped.
    public internal(set) var generation = 0
    /// The agent process is frozen (SIGSTOP, a VM pause) until then: its timers, answers and
    /// watch events wait, its proxy forwards nothing. What a clock jump means to an agent whose
    /// timers run on a monotonic clock.
    public internal(set) var pausedUntil: Timestamp?
    /// Work that arrived while the agent was paused, in arrival order.
    var deferred: [() -> Void] = []

    /// What a backend knows of this host: eth0 carries the public IP.
    public var backendHost: BackendHost {
        BackendHost(publicIP: publicIP, externalName: eth0.name, externalAddress: publicIP, externalMTU: underlayMTU,
                    publicIPv6: publicIPv6, externalIPv6Address: publicIPv6)
    }

    func isPaused(at now: Timestamp) -> Bool { pausedUntil.map { $0 > now } ?? false }

    init(index: Int, publicIP: IPv4Address, underlayNetwork: IPv4Network) {
        self.index = index
        self.publicIP = publicIP
        // Spelt like the IPv4 one for the first hosts (192.0.2.11 → 2001:db8::11), as in the lab.
        publicIPv6 = ipv6UnderlayNetwork.address.advanced(by: UInt128(Int("\(10 + index)", radix: 16) ?? 0))!
        self.underlayNetwork = underlayNetwork
    }

    /// One kernel backend step, applied to the tables as the kernel would (replace keeps one
    /// entry per route destination, neighbour address and forwarding MAC).
    func apply(_ step: KernelStep<IPv4Address>, ignoringDeletes: Bool = false) {
        if ignoringDeletes && step.isDeletion { return }
        Self.apply(step, to: &kernelTables)
    }

    /// An IPv6-half step.
    func apply(_ step: KernelStep<IPv6Address>, ignoringDeletes: Bool = false) {
        if ignoringDeletes && step.isDeletion { return }
        Self.apply(step, to: &ipv6KernelTables)
    }

    private static func apply<Address>(_ step: KernelStep<Address>, to tables: inout KernelTables<Address>) {
        switch step {
        case let .replaceNeighbour(entry):
            tables.neighbours.removeAll { $0.device == entry.device && $0.address == entry.address }
            tables.neighbours.append(entry)
        case let .deleteNeighbour(entry):
            tables.neighbours.removeAll { $0.device == entry.device && $0.address == entry.address }
        case let .replaceFDB(entry):
            tables.fdb.removeAll { $0.device == entry.device && $0.mac == entry.mac }
            tables.fdb.append(entry)
        case let .deleteFDB(entry):
            tables.fdb.removeAll { $0 == entry }
        case let .replaceRoute(route):
            tables.routes.removeAll { $0.destination == route.destination }
            tables.routes.append(route)
        case let .deleteRoute(route):
            tables.routes.removeAll { $0 == route }
        }
    }

    /// A device went away: the kernel drops everything that used it.
    func removeEntries(on device: KernelDevice) {
        kernelTables.routes.removeAll { $0.device == device }
        kernelTables.neighbours.removeAll { $0.device == device }
        kernelTables.fdb.removeAll { $0.device == device }
        ipv6KernelTables.routes.removeAll { $0.device == device }
        ipv6KernelTables.neighbours.removeAll { $0.device == device }
        ipv6KernelTables.fdb.removeAll { $0.device == device }
    }

    /// The longest-prefix route the kernel backends installed for `destination`.
    func kernelRoute(for destination: IPv4Address) -> KernelRoute<IPv4Address>? {
        Self.longestMatch(destination, in: kernelTables)
    }

    func kernelRoute(for destination: IPv6Address) -> KernelRoute<IPv6Address>? {
        Self.longestMatch(destination, in: ipv6KernelTables)
    }

    private static func longestMatch<Address>(_ destination: Address, in tables: KernelTables<Address>) -> KernelRoute<Address>? {
        tables.routes.filter { $0.destination.contains(destination) }.max { $0.destination.prefixLength < $1.destination.prefixLength }
    }

    public var isAgentRunning: Bool { agent != nil }

    public func container(at address: IPv4Address) -> Container? {
        containers.first { $0.address == address }
    }
}
