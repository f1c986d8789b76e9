/// vxlan on Linux: `flannel.<VNI>` kept by `VXLANDeviceKeeper`, peers' entries by `KernelBackend`.
struct VXLANLinuxBackend: LinuxBackend {
    static func prepare(_ backend: VXLANBackend, device: BackendDevice?, on host: LinuxBackendHost) throws -> any PreparedBackend {
        guard case let .vxlan(vni, port, mtu)? = device ?? backend.device(on: host.backendHost) else {
            preconditionFailure("VXLANBackend always asks for its device")
        }
        let kernel = try KernelBackend(netlink: try RouteNetlink(), backend: BackendConfig(backend), host: host) { underlay in
            VXLANDeviceKeeper(spec: VXLANDeviceSpec(vni: vni, local: host.external.address, underlay: underlay, port: port, mtu: mtu))
        }
        return KernelPreparedBackend(kernel: kernel, logger: host.logger) { kernel, subnet in
            "vxlan backend: flannel.\(vni) \(subnet.address)/32 MTU \(mtu), VNI \(vni), VtepMAC \(kernel.deviceMAC.map { "\($0)" } ?? "?"), UDP \(host.external.address):\(port) on \(host.external.name)\(backend.directRouting ? ", DirectRouting" : "")"
        }
    }
}
