/// vxlan on Linux: `flannel.<VNI>` kept by `VXLANDeviceKeeper`, peers' entries by `KernelBackend`.
struct VXLANLinuxBackend: LinuxBackend {
    static func prepare(_ backend: VXLANBackend, device: BackendDevice?, on host: LinuxBackendHost) throws -> any PreparedBackend {
        let netlink = try RouteNetlink()
        guard let underlay = try netlink.link(named: host.external.name)?.device else {
            throw NetlinkError(operation: "find the external interface \(host.external.name)", errno: 19 /* ENODEV */)
        }
        guard case let .vxlan(vni, port, mtu)? = device ?? backend.device(on: host.backendHost) else {
            preconditionFailure("VXLANBackend always asks for its device")
        }
        let spec = VXLANDeviceSpec(vni: vni, local: host.external.address, underlay: underlay, port: port, mtu: mtu)
        let kernel = try KernelBackend(netlink: netlink, backend: BackendConfig(backend), host: host, deviceKeeper: VXLANDeviceKeeper(spec: spec))
        return KernelPreparedBackend(kernel: kernel, mtu: mtu, logger: host.logger) { kernel, subnet in
            "vxlan backend: \(spec.name) \(subnet.address)/32 MTU \(mtu), VNI \(spec.vni), VtepMAC \(kernel.deviceMAC.map { "\($0)" } ?? "?"), UDP \(spec.local):\(spec.port) on \(spec.underlay.name)\(backend.directRouting ? ", DirectRouting" : "")"
        }
    }
}
