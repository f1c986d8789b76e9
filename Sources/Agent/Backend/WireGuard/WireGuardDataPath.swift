import Logging

/// wireguard's running data path: every peer change and every tick reads the device's peers
/// back and applies the difference, so a peer removed by hand returns, a departed host's
/// goes, and a device re-made (deleted, wireguard-go died) gets every peer again.
final class WireGuardDataPath: RunningDataPath {
    private let device: WireGuardDevice
    private var peerSet: WireGuardPeerSet
    private let subnetLength: Int
    private let external: String
    private let logger: Logger
    private var lastPeers: [Peer] = []
    /// The last resync's error, so that a lasting failure is logged once, not every 10 s.
    private var lastSyncProblem: String?

    init(device: WireGuardDevice, peers: WireGuardPeerSet, subnetLength: Int, external: String, logger: Logger) {
        self.device = device
        peerSet = peers
        self.subnetLength = subnetLength
        self.external = external
        self.logger = logger
    }

    func setPeers(_ peers: [Peer]) {
        lastPeers = peers
        sync(peers, checkDevice: false)
    }

    func ignoreReason(_ peer: Peer) -> String? {
        peerSet.ignoreReason(peer)
    }

    func move(to subnets: OwnSubnets) throws {
        guard let subnet = subnets.subnet else { return }
        peerSet.ownSubnet = subnet
        try device.address(subnet: subnet, network: peerSet.network, subnetLength: subnetLength, external: external)
    }

    func tick(peers: () -> [Peer]) {
        lastPeers = peers()
        sync(lastPeers, checkDevice: true)
    }

    func stop() {
        device.driver.detach(logger: logger)
    }

    private func sync(_ peers: [Peer], checkDevice: Bool) {
        do {
            if checkDevice {
                try device.ensure()
                if let subnet = peerSet.ownSubnet { try device.address(subnet: subnet, network: peerSet.network, subnetLength: subnetLength, external: external) }
            }
            let wanted = peerSet.wanted(peers)
            let plan = WireGuardPeerPlan(current: try device.driver.read().peers, wanted: wanted)
            if !plan.isEmpty {
                try device.driver.configure(privateKey: nil, listenPort: nil, plan: plan)
                for key in plan.removals { logger.info("removed WireGuard peer \(key) from \(device.name)") }
                for peer in plan.updates { logger.info("set WireGuard \(peer) on \(device.name)") }
            }
            if lastSyncProblem != nil { logger.notice("\(device.name) in sync again") }
            lastSyncProblem = nil
        } catch {
            let problem = "\(error)"
            if problem != lastSyncProblem { logger.error("\(device.name) resync failed: \(problem); retrying every 10 s") }
            lastSyncProblem = problem
        }
    }
}
