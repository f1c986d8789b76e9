import Logging

/// wireguard's running data path: per device (`flannel-wg`, and `flannel-wg-v6` on a
/// dual-stack network) every peer change and every tick reads the device's peers back and
/// applies the difference, so a peer removed by hand returns, a departed host's goes, and a
/// device re-made (deleted, wireguard-go died) gets every peer again.
final class WireGuardDataPath: RunningDataPath {
    /// One device and the peers it wants.
    struct Family<Address: WireGuardAddressFamily & NetlinkAddress> {
        let device: WireGuardDevice
        var peers: WireGuardPeerSet<Address>
        let subnetLength: Int
    }

    private var ipv4: Family<IPv4Address>?
    private var ipv6: Family<IPv6Address>?
    private let external: String
    private let logger: Logger
    /// The last resync's error per device, so that a lasting failure is logged once, not every 10 s.
    private var lastSyncProblem: [String: String] = [:]

    init(ipv4: Family<IPv4Address>?, ipv6: Family<IPv6Address>?, external: String, logger: Logger) {
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.external = external
        self.logger = logger
    }

    func setPeers(_ peers: [Peer]) {
        sync(peers, checkDevice: false)
    }

    func ignoreReason(_ peer: Peer) -> String? {
        ipv4?.peers.ignoreReason(peer) ?? (ipv4 == nil ? ipv6?.peers.ignoreReason(peer) : nil)
    }

    func ipv6IgnoreReason(_ peer: Peer) -> String? {
        ipv4 == nil ? nil : ipv6?.peers.ignoreReason(peer)
    }

    func move(to subnets: OwnSubnets) throws {
        if let subnet = subnets.subnet, var family = ipv4 {
            family.peers.ownSubnet = subnet
            ipv4 = family
            try family.device.address(subnet: subnet, network: family.peers.network, subnetLength: family.subnetLength, external: external)
        }
        if let subnet = subnets.ipv6Subnet, var family = ipv6 {
            family.peers.ownSubnet = subnet
            ipv6 = family
            try family.device.address(subnet: subnet, network: family.peers.network, subnetLength: family.subnetLength, external: external)
        }
    }

    func tick(peers: () -> [Peer]) {
        sync(peers(), checkDevice: true)
    }

    func stop() {
        for device in [ipv4?.device, ipv6?.device].compactMap({ $0 }) { device.driver.detach(logger: logger) }
    }

    private func sync(_ peers: [Peer], checkDevice: Bool) {
        if let ipv4 { sync(ipv4, peers, checkDevice: checkDevice) }
        if let ipv6 { sync(ipv6, peers, checkDevice: checkDevice) }
    }

    private func sync<Address>(_ family: Family<Address>, _ peers: [Peer], checkDevice: Bool) {
        let device = family.device
        do {
            if checkDevice {
                try device.ensure()
                if let subnet = family.peers.ownSubnet {
                    try device.address(subnet: subnet, network: family.peers.network, subnetLength: family.subnetLength, external: external)
                }
            }
            let plan = WireGuardPeerPlan(current: try device.driver.read().peers, wanted: family.peers.wanted(peers))
            if !plan.isEmpty {
                try device.driver.configure(privateKey: nil, listenPort: nil, plan: plan)
                for key in plan.removals { logger.info("removed WireGuard peer \(key) from \(device.name)") }
                for peer in plan.updates { logger.info("set WireGuard \(peer) on \(device.name)") }
            }
            if lastSyncProblem.removeValue(forKey: device.name) != nil { logger.notice("\(device.name) in sync again") }
        } catch {
            let problem = "\(error)"
            if problem != lastSyncProblem[device.name] { logger.error("\(device.name) resync failed: \(problem); retrying every 10 s") }
            lastSyncProblem[device.name] = problem
        }
    }
}
