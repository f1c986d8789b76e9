import Logging

/// wireguard's running data path: per device (`flannel-wg`, and `flannel-wg-v6` on a
/// dual-stack network in `Mode` `separate`; `flannel-wg` alone for both families in the other
/// modes) every peer change and every tick reads the device's peers back and
/// applies the difference, so a peer removed by hand returns, a departed host's goes, and a
/// device re-made (deleted, wireguard-go died) gets every peer again.
final class WireGuardDataPath: RunningDataPath {
    /// One device and the peers it wants.
    struct Family<Address: WireGuardAddressFamily & NetlinkAddress> {
        let device: WireGuardDevice
        var peers: WireGuardPeerSet<Address>
        let subnetLength: Int
    }

    /// `flannel-wg` carrying both families (`Mode` `auto`, `ipv4`, `ipv6`).
    struct Shared {
        let device: WireGuardDevice
        var peers: WireGuardSharedDevicePeers
        var ipv4: (network: IPv4Network, subnet: IPv4Network, subnetLength: Int)?
        var ipv6: (network: IPv6Network, subnet: IPv6Network, subnetLength: Int)?
    }

    private var ipv4: Family<IPv4Address>?
    private var ipv6: Family<IPv6Address>?
    private var shared: Shared?
    private let external: String
    private let logger: Logger
    /// The last resync's error per device, so that a lasting failure is logged once, not every 10 s.
    private var lastSyncProblem: [String: String] = [:]
    /// Per device, the endpoint last set for each peer: one that roamed since (WireGuard follows
    /// where a peer's packets come from) is left where it went while its lease says the same.
    private var setEndpoints: [String: [WireGuardKey: String]] = [:]

    init(ipv4: Family<IPv4Address>?, ipv6: Family<IPv6Address>?, shared: Shared? = nil, external: String, logger: Logger) {
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.shared = shared
        self.external = external
        self.logger = logger
    }

    func setPeers(_ peers: [Peer]) {
        sync(peers, checkDevice: false)
    }

    func ignoreReason(_ peer: Peer) -> String? {
        if let shared { return shared.peers.ignoreReason(peer) }
        return ipv4?.peers.ignoreReason(peer) ?? (ipv4 == nil ? ipv6?.peers.ignoreReason(peer) : nil)
    }

    func ipv6IgnoreReason(_ peer: Peer) -> String? {
        ipv4 == nil ? nil : ipv6?.peers.ignoreReason(peer)
    }

    func move(to subnets: OwnSubnets) throws {
        if var moved = shared {
            // A drift moves both halves at once: one lease key.
            moved.peers.ownKey = subnets.subnet.map { SubnetKey($0, ipv6: subnets.ipv6Subnet) }
                ?? subnets.ipv6Subnet.map { SubnetKey(ipv6Only: $0) }
            if let old = moved.ipv4, let subnet = subnets.subnet { moved.ipv4 = (old.network, subnet, old.subnetLength) }
            if let old = moved.ipv6, let subnet = subnets.ipv6Subnet { moved.ipv6 = (old.network, subnet, old.subnetLength) }
            shared = moved
            try address(moved)
            return
        }
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
        for device in [ipv4?.device, ipv6?.device, shared?.device].compactMap({ $0 }) { device.driver.detach(logger: logger) }
    }

    private func sync(_ peers: [Peer], checkDevice: Bool) {
        if let ipv4 { sync(ipv4, peers, checkDevice: checkDevice) }
        if let ipv6 { sync(ipv6, peers, checkDevice: checkDevice) }
        if let shared { sync(shared, peers, checkDevice: checkDevice) }
    }

    private func address(_ shared: Shared) throws {
        if let ipv4 = shared.ipv4 {
            try shared.device.address(subnet: ipv4.subnet, network: ipv4.network, subnetLength: ipv4.subnetLength, external: external)
        }
        if let ipv6 = shared.ipv6 {
            try shared.device.address(subnet: ipv6.subnet, network: ipv6.network, subnetLength: ipv6.subnetLength, external: external)
        }
    }

    private func sync(_ shared: Shared, _ peers: [Peer], checkDevice: Bool) {
        apply(on: shared.device) {
            if checkDevice {
                try shared.device.ensure()
                try address(shared)
            }
            return shared.peers.wanted(peers)
        }
    }

    private func sync<Address>(_ family: Family<Address>, _ peers: [Peer], checkDevice: Bool) {
        apply(on: family.device) {
            if checkDevice {
                try family.device.ensure()
                if let subnet = family.peers.ownSubnet {
                    try family.device.address(subnet: subnet, network: family.peers.network, subnetLength: family.subnetLength, external: external)
                }
            }
            return family.peers.wanted(peers)
        }
    }

    /// Reads `device`'s peers back and applies the difference to what `wanted` says (after
    /// whatever it checks first); a failure is logged once until it changes.
    private func apply(on device: WireGuardDevice, _ wanted: () throws -> [WireGuardPeerConfig]) {
        do {
            // First what `wanted` checks: it may make the device again before it can be read.
            let wantedPeers = try wanted()
            let plan = WireGuardPeerPlan(current: try device.driver.read().peers, wanted: wantedPeers,
                                         setEndpoints: setEndpoints[device.name] ?? [:])
            if !plan.isEmpty {
                try device.driver.configure(privateKey: nil, listenPort: nil, plan: plan)
                for key in plan.removals { setEndpoints[device.name]?[key] = nil }
                for peer in plan.updates { setEndpoints[device.name, default: [:]][peer.publicKey] = peer.endpoint }
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
