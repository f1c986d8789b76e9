import Logging

/// One address family of a kernel backend on a real host: its own device if it has one
/// (`flannel.<VNI>`, or `flannel-v6.<VNI>` for a dual-stack network's IPv6 half), the device's
/// address, and per peer the entries that `KernelBackendPlanner` wants, applied through
/// netlink by a full read-back-and-diff.
final class KernelFamilyBackend<Address: NetlinkAddress> {
    let netlink: RouteNetlink
    let backend: BackendConfig
    let external: KernelDevice
    let externalNetwork: IPNetwork<Address>?
    let network: IPNetwork<Address>
    let subnetLength: Int
    let deviceKeeper: (any KernelDeviceKeeper)?
    private(set) var deviceMAC: MACAddress?
    private(set) var device: KernelDevice?
    private var ownSubnet: IPNetwork<Address>?
    private let logger: Logger
    /// The last resync's failures: the same failure is logged once, not every 10 s.
    private var reportedFailures: [KernelPlan<Address>.Outcome.Failure] = []

    /// `externalAddress`: the external interface's address of this family, whose connected
    /// network tells which peers share our L2.
    init(netlink: RouteNetlink, backend: BackendConfig, external: KernelDevice, externalAddress: Address?,
         network: IPNetwork<Address>, subnetLength: Int, deviceKeeper: (any KernelDeviceKeeper)?, logger: Logger) throws {
        self.netlink = netlink
        self.backend = backend
        self.external = external
        self.network = network
        self.subnetLength = subnetLength
        self.deviceKeeper = deviceKeeper
        self.logger = logger
        externalNetwork = try externalAddress.flatMap { address in
            try netlink.addresses(on: external, family: Address.self).first { $0.address == address }?.network
        }
        if let deviceKeeper {
            let made = try deviceKeeper.ensure(netlink, preferredMAC: nil, known: false, logger: logger)
            device = made.device
            deviceMAC = made.mac
        }
    }

    var planner: KernelBackendPlanner<Address> {
        KernelBackendPlanner(backend: backend, context: KernelPeerContext(external: external, externalNetwork: externalNetwork, device: device),
                             network: network, subnetLength: subnetLength, ownSubnet: ownSubnet)
    }

    /// Our subnet is known (first lease or a drift): the device gets its base address as a
    /// host address (/32, or /128 for IPv6), as upstream's.
    func activate(subnet: IPNetwork<Address>) throws {
        ownSubnet = subnet
        try configureDeviceAddress()
    }

    /// Re-reads the kernel and applies what is missing or stale. Returns what was done.
    @discardableResult
    func sync(peers: [Peer]) throws -> KernelPlan<Address>.Outcome {
        if let deviceKeeper {
            // Someone deleted or changed the device, or took its address: put it all back, same MAC.
            device = try deviceKeeper.ensure(netlink, preferredMAC: deviceMAC, known: true, logger: logger).device
            try configureDeviceAddress()
        }
        let links = try netlink.links()
        var current = KernelTables<Address>(routes: try netlink.routes(devices: links.map(\.device), family: Address.self))
        if let device {
            current.neighbours = try netlink.neighbours(on: device, family: Address.self)
            current.fdb = try netlink.forwardingEntries(on: device, family: Address.self)
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
        try netlink.keepOnlyBaseAddress(of: ownSubnet, on: device, logger: logger)
        if let link = try netlink.links().first(where: { $0.index == device.index }), !link.isUp {
            try netlink.setUp(device)
        }
    }
}
