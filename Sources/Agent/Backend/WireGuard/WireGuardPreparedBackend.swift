import Logging

/// wireguard made ready before the lease: its devices run with our key, whose public half
/// goes into the lease (`BackendData`, and `BackendV6Data` on a dual-stack network).
final class WireGuardPreparedBackend: PreparedBackend {
    let backend: WireGuardBackend
    let ipv4Device: WireGuardDevice?
    let ipv6Device: WireGuardDevice?
    let publicKey: WireGuardKey
    let host: LinuxBackendHost

    init(backend: WireGuardBackend, ipv4Device: WireGuardDevice?, ipv6Device: WireGuardDevice?, publicKey: WireGuardKey, host: LinuxBackendHost) {
        self.backend = backend
        self.ipv4Device = ipv4Device
        self.ipv6Device = ipv6Device
        self.publicKey = publicKey
        self.host = host
    }

    var deviceIdentity: BackendDeviceIdentity? { ipv4Device == nil ? nil : .publicKey(publicKey) }
    var ipv6DeviceIdentity: BackendDeviceIdentity? { ipv6Device == nil ? nil : .publicKey(publicKey) }

    func start(_ subnets: OwnSubnets, onFailure: @escaping @Sendable (String) -> Void) throws -> any RunningDataPath {
        var ipv4: WireGuardDataPath.Family<IPv4Address>?
        var ipv6: WireGuardDataPath.Family<IPv6Address>?
        let external = host.external.name
        if let device = ipv4Device, let subnet = subnets.subnet, let plan = host.ipv4 {
            try device.address(subnet: subnet, network: plan.network, subnetLength: plan.subnetLength, external: external)
            host.logger.info("wireguard backend: \(device.name) \(subnet.address)/32 MTU \(device.mtu) (\(device.driver.kind)), public key \(publicKey), UDP \(host.publicIP):\(device.listenPort) on \(external), \(plan.network) routed through it")
            ipv4 = .init(device: device, peers: WireGuardPeerSet(backend: backend, network: plan.network, ownSubnet: subnet), subnetLength: plan.subnetLength)
        }
        if let device = ipv6Device, let subnet = subnets.ipv6Subnet, let plan = host.ipv6 {
            try device.address(subnet: subnet, network: plan.network, subnetLength: plan.subnetLength, external: external)
            host.logger.info("wireguard backend: \(device.name) \(subnet.address)/128 MTU \(device.mtu) (\(device.driver.kind)), public key \(publicKey), UDP [\(host.externalIPv6.map { "\($0)" } ?? "?")]:\(device.listenPort) on \(external), \(plan.network) routed through it")
            ipv6 = .init(device: device, peers: WireGuardPeerSet(backend: backend, network: plan.network, ownSubnet: subnet), subnetLength: plan.subnetLength)
        }
        guard ipv4 != nil || ipv6 != nil else { throw WireGuardSetupError("wireguard backend: no subnet to run with") }
        return WireGuardDataPath(ipv4: ipv4, ipv6: ipv6, external: external, logger: host.logger)
    }
}
