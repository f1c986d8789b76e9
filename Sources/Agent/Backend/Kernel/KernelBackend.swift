import Logging

/// A kernel backend (vxlan, host-gw) on a real host: its own device if it has one (made
/// before the lease is taken, kept across restarts, re-created if deleted), then per peer the
/// entries that the pure backend's `KernelBackendPlanner` wants, applied through netlink by a
/// full read-back-and-diff every time the peers change and on every resync, so anything
/// missing comes back and anything stale goes.
public final class KernelBackend {
    public let netlink: RouteNetlink
    public let backend: BackendConfig
    public let external: KernelDevice
    public let externalNetwork: IPv4Network?
    public let network: IPv4Network
    public let subnetLength: Int
    /// The backend's own device (vxlan's `flannel.<VNI>`); nil for host-gw.
    let deviceKeeper: (any KernelDeviceKeeper)?
    /// The device's MAC, in our lease.
    public private(set) var deviceMAC: MACAddress?
    private var device: KernelDevice?
    private var ownSubnet: IPv4Network?
    private let logger: Logger
    /// The last resync's failures: the same failure is logged once, not every 10 s.
    private var reportedFailures: [KernelPlan.Outcome.Failure] = []

    /// Looks up the external interface and makes sure the backend's device exists.
    /// `deviceKeeper` is made for the external interface once it is found.
    init(netlink: RouteNetlink, backend: BackendConfig, host: LinuxBackendHost,
         deviceKeeper makeKeeper: ((KernelDevice) -> any KernelDeviceKeeper)?) throws {
        self.netlink = netlink
        self.backend = backend
        network = host.network
        subnetLength = host.subnetLength
        logger = host.logger
        guard let link = try netlink.link(named: host.external.name) else {
            throw NetlinkError(operation: "find the external interface \(host.external.name)", errno: 19 /* ENODEV */)
        }
        external = link.device
        externalNetwork = try netlink.addresses(on: link.device).first { $0.address == host.external.address }?.network
        deviceKeeper = makeKeeper?(link.device)
        if let deviceKeeper {
            let made = try deviceKeeper.ensure(netlink, preferredMAC: nil, known: false, logger: logger)
            device = made.device
            deviceMAC = made.mac
        }
    }

    public var planner: KernelBackendPlanner {
        KernelBackendPlanner(backend: backend, context: KernelPeerContext(external: external, externalNetwork: externalNetwork, device: device),
                             network: network, subnetLength: subnetLength, ownSubnet: ownSubnet)
    }

    /// Our subnet is known (first lease or a drift): the device gets its base address as /32.
    public func activate(_ subnets: OwnSubnets) throws {
        ownSubnet = subnets.subnet
        try configureDeviceAddress()
    }

    /// Re-reads the kernel and applies what is missing or stale. Returns what was done.
    @discardableResult
    public func sync(peers: [Peer]) throws -> KernelPlan.Outcome {
        if let deviceKeeper {
            // Someone deleted or changed the device, or took its address: put it all back, same MAC.
            device = try deviceKeeper.ensure(netlink, preferredMAC: deviceMAC, known: true, logger: logger).device
            try configureDeviceAddress()
        }
        let links = try netlink.links()
        var current = KernelTables(routes: try netlink.routes(devices: links.map(\.device)))
        if let device {
            current.neighbours = try netlink.neighbours(on: device)
            current.fdb = try netlink.forwardingEntries(on: device)
        }
        let plan = planner.plan(peers: peers, current: current)
        let outcome = plan.execute { step in try netlink.apply(step) }
        for step in outcome.applied {
            logger.info("\(step)")
        }
        if outcome.failures != reportedFailures {
            for failure in outcome.failures where !reportedFailures.contains(failure) {
                logger.error("\(failure); retrying at every resync (logged once)")
            }
            reportedFailures = outcome.failures
        }
        for step in outcome.undone {
            logger.warning("took back \(step): a later step for the same peer failed")
        }
        return outcome
    }

    private func configureDeviceAddress() throws {
        guard let device, let ownSubnet else { return }
        let wanted = InterfaceAddress(address: ownSubnet.address, prefixLength: 32)
        let present = try netlink.addresses(on: device)
        for stale in present where stale != wanted {
            try netlink.deleteAddress(stale, on: device)
            logger.info("removed address \(stale) from \(device.name) (no longer our subnet)")
        }
        if !present.contains(wanted) {
            try netlink.replaceAddress(wanted, on: device)
        }
        if let link = try netlink.links().first(where: { $0.index == device.index }), !link.isUp {
            try netlink.setUp(device)
        }
    }
}
