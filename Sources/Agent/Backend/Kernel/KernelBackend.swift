import Logging

/// The vxlan and host-gw backends on a real host: the vxlan device (created with its MAC
/// before the lease is taken, kept across restarts, re-created if deleted), then per peer
/// the neighbour, forwarding entry and route that `KernelBackendPlanner` wants, applied
/// through netlink by a full read-back-and-diff every time the peers change and on every
/// resync, so anything missing comes back and anything stale goes.
public final class KernelBackend {
    public let netlink: RouteNetlink
    public let external: KernelDevice
    public let externalNetwork: IPv4Network?
    public let network: IPv4Network
    public let subnetLength: Int
    /// The vxlan device's settings; nil for host-gw.
    public let vxlanSpec: VXLANDeviceSpec?
    public let directRouting: Bool
    /// The VTEP MAC in our lease (vxlan).
    public private(set) var vtepMAC: MACAddress?
    private var vxlanDevice: KernelDevice?
    private var ownSubnet: IPv4Network?
    private let logger: Logger
    /// The last resync's failures: the same failure is logged once, not every 10 s.
    private var reportedFailures: [KernelPlan.Outcome.Failure] = []

    /// Looks up the external interface; for vxlan, makes sure `flannel.<VNI>` exists.
    public init(netlink: RouteNetlink, externalName: String, externalAddress: IPv4Address, network: IPv4Network, subnetLength: Int,
                vxlan: (vni: Int, port: Int, mtu: Int, directRouting: Bool)?, logger: Logger) throws {
        self.netlink = netlink
        self.network = network
        self.subnetLength = subnetLength
        self.logger = logger
        guard let link = try netlink.link(named: externalName) else {
            throw NetlinkError(operation: "find the external interface \(externalName)", errno: 19 /* ENODEV */)
        }
        external = link.device
        externalNetwork = try netlink.addresses(on: link.device).first { $0.address == externalAddress }?.network
        directRouting = vxlan?.directRouting ?? false
        if let vxlan {
            let spec = VXLANDeviceSpec(vni: vxlan.vni, local: externalAddress, underlay: link.device, port: vxlan.port, mtu: vxlan.mtu)
            vxlanSpec = spec
            let device = try ensureDevice(spec, preferredMAC: nil)
            vxlanDevice = device.device
            vtepMAC = device.mac
        } else {
            vxlanSpec = nil
        }
    }

    /// The `BackendType`/`BackendData` for our lease.
    public func leaseAttributes(publicIP: IPv4Address) -> LeaseAttributes {
        guard let vxlanSpec, let vtepMAC else { return LeaseAttributes(publicIP: publicIP, backendType: "host-gw") }
        return LeaseAttributes(publicIP: publicIP, backendType: "vxlan", backendData: .object([
            ("VNI", .number("\(vxlanSpec.vni)")), ("VtepMAC", .string(vtepMAC.description)),
        ]))
    }

    public var planner: KernelBackendPlanner {
        let kind: KernelBackendPlanner.Kind = if let vxlanDevice { .vxlan(device: vxlanDevice, directRouting: directRouting) } else { .hostGW }
        return KernelBackendPlanner(kind: kind, external: external, externalNetwork: externalNetwork, network: network,
                                    subnetLength: subnetLength, ownSubnet: ownSubnet)
    }

    /// Our subnet is known (first lease or a drift): vxlan puts its base address on the device as /32.
    public func activate(subnet: IPv4Network) throws {
        ownSubnet = subnet
        try configureDeviceAddress()
    }

    /// Re-reads the kernel and applies what is missing or stale. Returns what was done.
    @discardableResult
    public func sync(peers: [Peer]) throws -> KernelPlan.Outcome {
        if let vxlanSpec {
            // Someone deleted or changed the device, or took its address: put it all back, same MAC.
            vxlanDevice = try ensureDevice(vxlanSpec, preferredMAC: vtepMAC).device
            try configureDeviceAddress()
        }
        let links = try netlink.links()
        var current = KernelTables(routes: try netlink.routes(devices: links.map(\.device)))
        if let vxlanDevice {
            current.neighbours = try netlink.neighbours(on: vxlanDevice)
            current.fdb = try netlink.forwardingEntries(on: vxlanDevice)
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
        guard let vxlanDevice, let ownSubnet else { return }
        let wanted = InterfaceAddress(address: ownSubnet.address, prefixLength: 32)
        let present = try netlink.addresses(on: vxlanDevice)
        for stale in present where stale != wanted {
            try netlink.deleteAddress(stale, on: vxlanDevice)
            logger.info("removed address \(stale) from \(vxlanDevice.name) (no longer our subnet)")
        }
        if !present.contains(wanted) {
            try netlink.replaceAddress(wanted, on: vxlanDevice)
        }
        if let link = try netlink.links().first(where: { $0.index == vxlanDevice.index }), !link.isUp {
            try netlink.setUp(vxlanDevice)
        }
    }

    /// Finds a usable `flannel.<VNI>` or creates one; an incompatible one is replaced,
    /// keeping its MAC so peers' entries stay right.
    private func ensureDevice(_ spec: VXLANDeviceSpec, preferredMAC: MACAddress?) throws -> KernelLink {
        var mac = preferredMAC
        if let link = try netlink.link(named: spec.name) {
            if spec.isSatisfied(by: link) {
                if let preferredMAC, link.mac != preferredMAC {
                    // Peers address our VTEP by the MAC in our lease; the device must carry it.
                    try netlink.setMAC(link.device, preferredMAC)
                    logger.warning("\(spec.name) had address \(link.mac.map { "\($0)" } ?? "none"); set it back to the VtepMAC \(preferredMAC)")
                }
                if link.mtu != spec.mtu {
                    try netlink.setMTU(link.device, spec.mtu)
                    logger.info("\(spec.name): MTU \(link.mtu) → \(spec.mtu)")
                }
                if vtepMAC == nil { logger.info("reusing \(link)") }
                return link
            }
            logger.warning("replacing \(link): \(spec.mismatch(with: link))")
            if mac == nil, let old = link.mac, old.isLocallyAdministeredUnicast { mac = old }
            try netlink.deleteLink(link.device)
        } else if vxlanDevice != nil {
            logger.warning("\(spec.name) is gone (deleted by hand?); re-creating it with VtepMAC \(mac.map { "\($0)" } ?? "new")")
        }
        let chosen = mac ?? MACAddress.locallyAdministered(from: (0..<6).map { _ in UInt8.random(in: 0...255) })
        try netlink.createVXLAN(name: spec.name, vni: spec.vni, local: spec.local, underlayIndex: spec.underlay.index,
                                port: spec.port, mac: chosen, mtu: spec.mtu)
        guard let created = try netlink.link(named: spec.name) else {
            throw NetlinkError(operation: "find \(spec.name) after creating it", errno: 19)
        }
        logger.info("created \(created)")
        return created
    }
}
