import Logging

/// wireguard made ready before the lease: its devices run with our key, whose public half
/// goes into the lease (`BackendData`, and `BackendV6Data` on a dual-stack network).
final class WireGuardPreparedBackend: PreparedBackend {
    let backend: WireGuardBackend
    let ipv4Device: WireGuardDevice?
    let ipv6Device: WireGuardDevice?
    /// `flannel-wg` carrying both families (`Mode` `auto`, `ipv4`, `ipv6` on a network with IPv6).
    let sharedDevice: WireGuardDevice?
    let publicKey: WireGuardKey
    let host: LinuxBackendHost

    init(backend: WireGuardBackend, ipv4Device: WireGuardDevice?, ipv6Device: WireGuardDevice?, sharedDevice: WireGuardDevice? = nil,
         publicKey: WireGuardKey, host: LinuxBackendHost) {
        self.backend = backend
        self.ipv4Device = ipv4Device
        self.ipv6Device = ipv6Device
        self.sharedDevice = sharedDevice
        self.publicKey = publicKey
        self.host = host
    }

    var deviceIdentity: BackendDeviceIdentity? { ipv4Device != nil || sharedDevice != nil && host.ipv4 != nil ? .publicKey(publicKey) : nil }
    var ipv6DeviceIdentity: BackendDeviceIdentity? { ipv6Device != nil || sharedDevice != nil && host.ipv6 != nil ? .publicKey(publicKey) : nil }

    func start(_ subnets: OwnSubnets, onFailure: @escaping @Sendable (String) -> Void) throws -> any RunningDataPath {
        if let device = sharedDevice { return try startShared(device, subnets) }
        var ipv4: WireGuardDataPath.Family<IPv4Address>?
        var ipv6: WireGuardDataPath.Family<IPv6Address>?
        let external = host.external.name
        if let device = ipv4Device, let subnet = subnets.subnet, let plan = host.ipv4 {
            try device.address(subnet: subnet, network: plan.network, subnetLength: plan.subnetLength, external: external)
            host.logger.info("wireguard backend: \(device.name) \(subnet.address)/32 MTU \(device.mtu) (\(device.driver.kind)), public key \(publicKey), UDP \(host.publicIP):\(device.listenPort) on \(external), \(plan.network) routed through it")
            ipv4 = .init(device: device, peers: WireGuardPeerSet(backend: backend, network: plan.network, ownSubnet: subnet, ownPublicKey: publicKey),
                         subnetLength: plan.subnetLength)
        }
        if let device = ipv6Device, let subnet = subnets.ipv6Subnet, let plan = host.ipv6 {
            try device.address(subnet: subnet, network: plan.network, subnetLength: plan.subnetLength, external: external)
            host.logger.info("wireguard backend: \(device.name) \(subnet.address)/128 MTU \(device.mtu) (\(device.driver.kind)), public key \(publicKey), UDP [\(host.externalIPv6.map { "\($0)" } ?? "?")]:\(device.listenPort) on \(external), \(plan.network) routed through it")
            ipv6 = .init(device: device, peers: WireGuardPeerSet(backend: backend, network: plan.network, ownSubnet: subnet, ownPublicKey: publicKey),
                         subnetLength: plan.subnetLength)
        }
        guard ipv4 != nil || ipv6 != nil else { throw WireGuardSetupError("wireguard backend: no subnet to run with") }
        return WireGuardDataPath(ipv4: ipv4, ipv6: ipv6, external: external, logger: host.logger)
    }

    private func startShared(_ device: WireGuardDevice, _ subnets: OwnSubnets) throws -> any RunningDataPath {
        let ipv4 = subnets.subnet.flatMap { subnet in host.ipv4.map { (network: $0.network, subnet: subnet, subnetLength: $0.subnetLength) } }
        let ipv6 = subnets.ipv6Subnet.flatMap { subnet in host.ipv6.map { (network: $0.network, subnet: subnet, subnetLength: $0.subnetLength) } }
        let ownKey = subnets.subnet.map { SubnetKey($0, ipv6: subnets.ipv6Subnet) } ?? subnets.ipv6Subnet.map { SubnetKey(ipv6Only: $0) }
        let peers = WireGuardSharedDevicePeers(
            backend: backend, ipv4Network: ipv4?.network, ipv6Network: ipv6?.network, ownKey: ownKey,
            localIPv4: host.ipv4 != nil && host.external.address != .any,
            localPublicIPv6: host.externalIPv6.map { !WireGuardSharedDevicePeers.isPrivate($0) } ?? false, ownPublicKey: publicKey)
        let shared = WireGuardDataPath.Shared(device: device, peers: peers, ipv4: ipv4, ipv6: ipv6)
        let path = WireGuardDataPath(ipv4: nil, ipv6: nil, shared: shared, external: host.external.name, logger: host.logger)
        try path.move(to: subnets)
        host.logger.info("wireguard backend: \(device.name) for both families (Mode \(backend.mode.rawValue)): \(subnets), MTU \(device.mtu) (\(device.driver.kind)), public key \(publicKey), UDP port \(device.listenPort) on \(host.external.name), \([ipv4?.network.description, ipv6?.network.description].compactMap { $0 }.joined(separator: " and ")) routed through it")
        return path
    }
}
