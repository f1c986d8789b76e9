/// What a kernel backend (vxlan, host-gw) wants in the kernel of one address family for a
/// set of peers, and which kernel objects are its to correct or remove. The per-peer entries
/// are the backend's (`Backend.program`, `programIPv6`); the checks every backend shares and
/// the ownership rules are here. Leases written by another backend type are ignored.
public struct KernelBackendPlanner<Address: KernelAddressFamily>: Equatable, Sendable {
    public var backend: BackendConfig
    /// The external interface, its connected network and the backend's own device.
    public var context: KernelPeerContext<Address>
    /// The flannel network (or its IPv6 half): every managed route's destination lies inside it.
    public var network: IPNetwork<Address>
    /// The leases' prefix length (`SubnetLen`): routes of that size into the network are
    /// taken as ours even without our mark (upstream's, on a host that moves to this agent).
    public var subnetLength: Int
    /// Our own subnet: never a peer, so any route to it here is stale (docker0's own route is
    /// on docker0 and never ours).
    public var ownSubnet: IPNetwork<Address>?

    public init(backend: BackendConfig, context: KernelPeerContext<Address>, network: IPNetwork<Address>, subnetLength: Int,
                ownSubnet: IPNetwork<Address>?) {
        self.backend = backend
        self.context = context
        self.network = network
        self.subnetLength = subnetLength
        self.ownSubnet = ownSubnet
    }

    /// The `BackendType` in our leases and the only one whose peers we program.
    public var backendType: String { backend.typeName }

    /// Why a peer gets no kernel entries, or nil when it gets them.
    public func ignoreReason(_ peer: Peer) -> String? {
        guard peer.attributes.effectiveBackendType == backendType else {
            return "its lease is for backend \(LogText.bounded(peer.attributes.effectiveBackendType, limit: 40)), this host runs \(backendType)"
        }
        guard let subnet = Address.subnet(of: peer) else {
            return "its lease has no \(Address.familyName) subnet"
        }
        guard network.contains(subnet) else {
            return "its \(Address.bitWidth == 32 ? "" : "IPv6 ")subnet is outside the network \(network)"
        }
        return Address.ignoreReason(backend.backend, peer, on: context)
    }

    /// Each usable peer's entries, in subnet order.
    public func programs(for peers: [Peer]) -> [KernelPeerProgram<Address>] {
        peers.compactMap { peer -> KernelPeerProgram<Address>? in
            guard let subnet = Address.subnet(of: peer), subnet != ownSubnet, ignoreReason(peer) == nil else { return nil }
            return Address.program(backend.backend, peer, on: context)
        }.sorted { $0.subnet < $1.subnet }
    }

    /// The objects this backend owns among everything read back: routes into the network that
    /// carry our mark (any length: whatever we ever made) or are lease-sized (upstream's),
    /// through the backend's device, or through the external interface with a gateway
    /// (host-gw, DirectRouting, or another backend's leftovers); and the backend device's
    /// neighbour and forwarding entries. An operator's unmarked wider or narrower routes into
    /// the network, and anything on other devices (docker0's route to our subnet), are left alone.
    public func managed(_ tables: KernelTables<Address>) -> KernelTables<Address> {
        let device = context.device
        let external = context.external
        return KernelTables(
            routes: tables.routes.filter { route in
                guard network.contains(route.destination), route.destination.prefixLength > network.prefixLength,
                      route.isOurs || route.destination.prefixLength == subnetLength else { return false }
                if route.device.index == device?.index { return true }
                return route.device.index == external.index && route.gateway != nil
            },
            neighbours: tables.neighbours.filter { $0.device.index == device?.index },
            fdb: tables.fdb.filter { $0.device.index == device?.index })
    }

    /// The steps from `current` (everything read back) to what `peers` need.
    public func plan(peers: [Peer], current: KernelTables<Address>) -> KernelPlan<Address> {
        KernelPlan.make(desired: programs(for: peers), current: managed(current))
    }
}
