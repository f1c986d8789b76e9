/// What the vxlan and host-gw backends want in the kernel for a set of peers (COMPAT.md,
/// "Backends"), and which kernel objects are theirs to correct or remove.
///
/// vxlan, per peer: neighbour `<peer subnet base> → VtepMAC` on `flannel.<VNI>`, forwarding
/// entry `VtepMAC → PublicIP`, route `<peer subnet> via <peer base> dev flannel.<VNI> onlink`;
/// with DirectRouting and the peer's PublicIP on the external interface's own network, the
/// route goes via the PublicIP on the external interface instead.
/// host-gw, per peer: route `<peer subnet> via PublicIP dev <external>`.
/// Leases written by another backend type are ignored.
public struct KernelBackendPlanner: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case vxlan(device: KernelDevice, directRouting: Bool)
        case hostGW
    }

    public var kind: Kind
    public var external: KernelDevice
    /// The external interface's connected network: peers inside it share our L2.
    public var externalNetwork: IPv4Network?
    /// The flannel network: every managed route's destination lies inside it.
    public var network: IPv4Network
    /// The leases' prefix length (`SubnetLen`): only routes of that size are ours.
    public var subnetLength: Int
    /// Our own subnet: never a peer, so any route to it here is stale (docker0's own route is
    /// on docker0 and never ours).
    public var ownSubnet: IPv4Network?

    public init(kind: Kind, external: KernelDevice, externalNetwork: IPv4Network?, network: IPv4Network,
                subnetLength: Int, ownSubnet: IPv4Network?) {
        self.kind = kind
        self.external = external
        self.externalNetwork = externalNetwork
        self.network = network
        self.subnetLength = subnetLength
        self.ownSubnet = ownSubnet
    }

    /// The `BackendType` in our leases and the only one whose peers we program.
    public var backendType: String {
        switch kind {
        case .vxlan: "vxlan"
        case .hostGW: "host-gw"
        }
    }

    /// Why a peer gets no kernel entries, or nil when it gets them.
    public func ignoreReason(_ peer: Peer) -> String? {
        guard peer.attributes.effectiveBackendType == backendType else {
            return "its lease is for backend \(peer.attributes.effectiveBackendType), this host runs \(backendType)"
        }
        guard network.contains(peer.subnet) else {
            return "its subnet is outside the network \(network)"
        }
        if case .hostGW = kind, let externalNetwork, !externalNetwork.contains(peer.publicIP) {
            return "its PublicIP \(peer.publicIP) is not on \(external.name)'s network \(externalNetwork): host-gw needs every host on one L2 (use vxlan, or vxlan with DirectRouting)"
        }
        if case .vxlan = kind, Self.vtepMAC(of: peer) == nil {
            let data = peer.attributes.backendData?.encoded ?? "nothing"
            return "its BackendData has no usable VtepMAC (found \(data))"
        }
        return nil
    }

    /// The peer's VTEP MAC from `BackendData.VtepMAC`.
    public static func vtepMAC(of peer: Peer) -> MACAddress? {
        guard let text = peer.attributes.backendData?.member("VtepMAC")?.stringValue else { return nil }
        return MACAddress(text)
    }

    /// Each usable peer's entries, in subnet order.
    public func programs(for peers: [Peer]) -> [KernelPeerProgram] {
        peers.sorted { $0.subnet < $1.subnet }.compactMap { peer in
            guard ignoreReason(peer) == nil, peer.subnet != ownSubnet else { return nil }
            switch kind {
            case .hostGW:
                return KernelPeerProgram(subnet: peer.subnet, route: KernelRoute(
                    destination: peer.subnet, gateway: peer.publicIP, device: external, onlink: false))
            case let .vxlan(device, directRouting):
                if directRouting, let externalNetwork, externalNetwork.contains(peer.publicIP) {
                    return KernelPeerProgram(subnet: peer.subnet, route: KernelRoute(
                        destination: peer.subnet, gateway: peer.publicIP, device: external, onlink: false))
                }
                let mac = Self.vtepMAC(of: peer)!
                let vtep = peer.subnet.address
                return KernelPeerProgram(
                    subnet: peer.subnet,
                    neighbour: KernelNeighbour(device: device, address: vtep, mac: mac),
                    fdb: KernelFDBEntry(device: device, mac: mac, destination: peer.publicIP),
                    route: KernelRoute(destination: peer.subnet, gateway: vtep, device: device, onlink: true))
            }
        }
    }

    /// The objects this backend owns among everything read back: lease-sized routes into the
    /// network through the vxlan device, or through the external interface with a gateway
    /// (host-gw, DirectRouting, or another backend's leftovers); and the vxlan device's
    /// neighbour and forwarding entries. An operator's wider or narrower routes into the
    /// network, and anything on other devices (docker0's route to our subnet), are left alone.
    public func managed(_ tables: KernelTables) -> KernelTables {
        let vxlanDevice: KernelDevice? = if case let .vxlan(device, _) = kind { device } else { nil }
        return KernelTables(
            routes: tables.routes.filter { route in
                guard network.contains(route.destination), route.destination.prefixLength == subnetLength,
                      route.destination.prefixLength > network.prefixLength else { return false }
                if route.device.index == vxlanDevice?.index { return true }
                return route.device.index == external.index && route.gateway != nil
            },
            neighbours: tables.neighbours.filter { $0.device.index == vxlanDevice?.index },
            fdb: tables.fdb.filter { $0.device.index == vxlanDevice?.index })
    }

    /// The steps from `current` (everything read back) to what `peers` need.
    public func plan(peers: [Peer], current: KernelTables) -> KernelPlan {
        KernelPlan.make(desired: programs(for: peers), current: managed(current))
    }
}
