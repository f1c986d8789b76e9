/// host-gw on Linux: no device, a route per peer kept by `KernelBackend`.
struct HostGWLinuxBackend: LinuxBackend {
    static func prepare(_ backend: HostGWBackend, device: BackendDevice?, on host: LinuxBackendHost) throws -> any PreparedBackend {
        let kernel = try KernelBackend(netlink: try RouteNetlink(), backend: BackendConfig(backend), host: host, deviceKeeper: nil)
        return KernelPreparedBackend(kernel: kernel, logger: host.logger) { kernel, _ in
            "host-gw backend: routes to peers via their public IPs on \(kernel.external.name)"
        }
    }
}
