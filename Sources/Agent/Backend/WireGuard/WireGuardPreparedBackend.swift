import Logging

/// wireguard made ready before the lease: the device runs with our key, whose public half
/// goes into the lease.
final class WireGuardPreparedBackend: PreparedBackend {
    let backend: WireGuardBackend
    let device: WireGuardDevice
    let publicKey: WireGuardKey
    let host: LinuxBackendHost

    init(backend: WireGuardBackend, device: WireGuardDevice, publicKey: WireGuardKey, host: LinuxBackendHost) {
        self.backend = backend
        self.device = device
        self.publicKey = publicKey
        self.host = host
    }

    var deviceIdentity: BackendDeviceIdentity? { .publicKey(publicKey) }

    func start(_ subnets: OwnSubnets, onFailure: @escaping @Sendable (String) -> Void) throws -> any RunningDataPath {
        guard let subnet = subnets.subnet, let plan = host.ipv4 else {
            throw WireGuardSetupError("wireguard backend: no IPv4 subnet to run with")
        }
        try device.address(subnet: subnet, network: plan.network, subnetLength: plan.subnetLength, external: host.external.name)
        host.logger.info("wireguard backend: \(device.name) \(subnet.address)/32 MTU \(device.mtu) (\(device.driver.kind)), public key \(publicKey), UDP \(host.publicIP):\(backend.listenPort) on \(host.external.name), \(plan.network) routed through it")
        return WireGuardDataPath(device: device, peers: WireGuardPeerSet(backend: backend, network: plan.network, ownSubnet: subnet),
                                 subnetLength: plan.subnetLength, external: host.external.name, logger: host.logger)
    }
}
