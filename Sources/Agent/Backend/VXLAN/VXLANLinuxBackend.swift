/// vxlan on Linux: `flannel.<VNI>` kept by `VXLANDeviceKeeper`, peers' entries by `KernelBackend`.
struct VXLANLinuxBackend: LinuxBackend {
    static func prepare(_ backend: VXLANBackend, device: BackendDevice?, ipv6Device: BackendDevice?,
                        on host: LinuxBackendHost) throws -> any PreparedBackend {
        // The IPv4 device unless the network is IPv6-only (then the IPv6 device's VNI and port are the same).
        let vni = backend.vni, port = backend.port
        let ipv4Device = host.ipv4 == nil ? nil : device ?? backend.device(on: host.backendHost)
        var mtu = 0
        if case let .vxlan(_, _, deviceMTU)? = ipv4Device { mtu = deviceMTU }
        var ipv6Keeper: ((KernelDevice) -> any KernelDeviceKeeper)?
        var ipv6MTU = 0
        if case let .vxlanIPv6(_, _, mtu)? = ipv6Device {
            // AgentMachine asks for the IPv6 device only when the host has an IPv6 address.
            guard let local = host.externalIPv6 else {
                throw NetlinkError(operation: "create \(ipv6Device!.name): \(host.external.name) has no global IPv6 address", errno: 99 /* EADDRNOTAVAIL */)
            }
            ipv6MTU = mtu
            ipv6Keeper = { underlay in VXLANDeviceKeeper(spec: VXLANDeviceSpec(vni: vni, localIPv6: local, underlay: underlay, port: port, mtu: mtu)) }
        }
        let kernel = try KernelBackend(netlink: try RouteNetlink(), backend: BackendConfig(backend), host: host, deviceKeeper: { underlay in
            VXLANDeviceKeeper(spec: VXLANDeviceSpec(vni: vni, local: host.external.address, underlay: underlay, port: port, mtu: mtu))
        }, ipv6DeviceKeeper: ipv6Keeper)
        return KernelPreparedBackend(kernel: kernel, logger: host.logger) { kernel, subnets in
            var parts: [String] = []
            if let subnet = subnets.subnet {
                parts.append("flannel.\(vni) \(subnet.address)/32 MTU \(mtu), VNI \(vni), VtepMAC \(kernel.deviceMAC.map { "\($0)" } ?? "?"), UDP \(host.external.address):\(port) on \(host.external.name)")
            }
            if let subnet = subnets.ipv6Subnet, let local = host.externalIPv6 {
                parts.append("flannel-v6.\(vni) \(subnet.address)/128 MTU \(ipv6MTU), VNI \(vni), VtepMAC \(kernel.ipv6DeviceMAC.map { "\($0)" } ?? "?"), UDP [\(local)]:\(port) on \(host.external.name)")
            }
            return "vxlan backend: " + parts.joined(separator: "; ") + (backend.directRouting ? ", DirectRouting" : "")
        }
    }
}
