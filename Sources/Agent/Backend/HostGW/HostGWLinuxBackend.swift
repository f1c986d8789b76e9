/// host-gw on Linux: no device, a route per peer kept by `KernelBackend`.
struct HostGWLinuxBackend: LinuxBackend {
    static func prepare(_ backend: HostGWBackend, device: BackendDevice?, ipv6Device: BackendDevice?,
                        on host: LinuxBackendHost) throws -> any PreparedBackend {
        let kernel = try KernelBackend(netlink: try RouteNetlink(), backend: BackendConfig(backend), host: host, deviceKeeper: nil)
        return KernelPreparedBackend(kernel: kernel, logger: host.logger) { kernel, subnets in
            "host-gw backend: routes to peers via their public IPs\(subnets.ipv6Subnet == nil ? "" : " (IPv6: via their PublicIPv6)") on \(kernel.external.name)"
        }
    }
}
