import AgentCore

/// Where a host's kernel sends a packet that a kernel backend's route matched, in either
/// family: out eth0 to the route's gateway (host-gw, DirectRouting), into a vxlan device (the
/// gateway's neighbour entry gives the MAC, the MAC's forwarding entry the peer's address), or
/// nowhere, with the reason the world counts the drop under.
enum SimKernelHop<Address: IPAddress> {
    case routed(to: Address)
    case vxlan(SimHost.VXLANDevice, mac: MACAddress, to: Address)
    case dropped(String)

    init(route: KernelRoute<Address>, tables: KernelTables<Address>, eth0: KernelDevice, vxlan: SimHost.VXLANDevice?) {
        if route.device == eth0, let gateway = route.gateway {
            self = .routed(to: gateway)
        } else if let vxlan, route.device == vxlan.device, let gateway = route.gateway {
            guard let neighbour = tables.neighbours.first(where: { $0.device == vxlan.device && $0.address == gateway }) else {
                self = .dropped("\(vxlan.device.name): no neighbour entry for \(gateway)")
                return
            }
            guard let entry = tables.fdb.first(where: { $0.device == vxlan.device && $0.mac == neighbour.mac }) else {
                self = .dropped("\(vxlan.device.name): no forwarding entry for \(neighbour.mac)")
                return
            }
            self = .vxlan(vxlan, mac: neighbour.mac, to: entry.destination)
        } else {
            self = .dropped("route \(route) has no usable device")
        }
    }
}
