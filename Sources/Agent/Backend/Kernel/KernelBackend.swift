import Logging

/// A kernel backend (vxlan, host-gw) on a real host: per address family the network has
/// (IPv4, IPv6, or both) its own device if it has one (made before the lease is taken, kept
/// across restarts, re-created if deleted), then per peer the entries that the pure backend's
/// `KernelBackendPlanner` wants, applied through netlink by a full read-back-and-diff every
/// time the peers change and on every resync, so anything missing comes back and anything
/// stale goes.
public final class KernelBackend {
    public let netlink: RouteNetlink
    public let backend: BackendConfig
    public let external: KernelDevice
    let ipv4: KernelFamilyBackend<IPv4Address>?
    let ipv6: KernelFamilyBackend<IPv6Address>?

    /// Looks up the external interface and makes sure the backend's devices exist. The device
    /// keepers are made for the external interface once it is found.
    init(netlink: RouteNetlink, backend: BackendConfig, host: LinuxBackendHost,
         deviceKeeper makeKeeper: ((KernelDevice) -> any KernelDeviceKeeper)?,
         ipv6DeviceKeeper makeIPv6Keeper: ((KernelDevice) -> any KernelDeviceKeeper)? = nil) throws {
        self.netlink = netlink
        self.backend = backend
        guard let link = try netlink.link(named: host.external.name) else {
            throw NetlinkError(operation: "find the external interface \(host.external.name)", errno: 19 /* ENODEV */)
        }
        external = link.device
        if let plan = host.ipv4 {
            ipv4 = try KernelFamilyBackend(netlink: netlink, backend: backend, external: link.device, externalAddress: host.external.address,
                                           network: plan.network, subnetLength: plan.subnetLength,
                                           deviceKeeper: makeKeeper?(link.device), logger: host.logger)
        } else {
            ipv4 = nil
        }
        if let plan = host.ipv6 {
            ipv6 = try KernelFamilyBackend(netlink: netlink, backend: backend, external: link.device, externalAddress: host.externalIPv6,
                                           network: plan.network, subnetLength: plan.subnetLength,
                                           deviceKeeper: makeIPv6Keeper?(link.device), logger: host.logger)
        } else {
            ipv6 = nil
        }
    }

    /// The MAC of the IPv4 device (vxlan's VtepMAC), for our lease.
    public var deviceMAC: MACAddress? { ipv4?.deviceMAC }
    /// The MAC of the IPv6 device, for our lease's `BackendV6Data`.
    public var ipv6DeviceMAC: MACAddress? { ipv6?.deviceMAC }

    public var planner: KernelBackendPlanner<IPv4Address>? { ipv4?.planner }

    /// The names of the devices this backend keeps, for the log.
    var deviceNames: [String] { [ipv4?.deviceKeeper?.name, ipv6?.deviceKeeper?.name].compactMap { $0 } }

    /// Our subnets are known (first lease or a drift): the devices get their base addresses.
    public func activate(_ subnets: OwnSubnets) throws {
        var thrown: (any Error)?
        if let ipv4, let subnet = subnets.subnet {
            do { try ipv4.activate(subnet: subnet) } catch { thrown = error }
        }
        if let ipv6, let subnet = subnets.ipv6Subnet {
            do { try ipv6.activate(subnet: subnet) } catch { thrown = thrown ?? error }
        }
        if let thrown { throw thrown }
    }

    /// Why a peer gets no entries at all, for the log; nil when it gets them. (The IPv4
    /// half's reason, or the IPv6 half's on an IPv6-only network.)
    public func ignoreReason(_ peer: Peer) -> String? {
        guard let ipv4 else { return ipv6?.planner.ignoreReason(peer) }
        let reason = ipv4.planner.ignoreReason(peer)
        // A dual-stack network's peer with an IPv6 half alone is routed over IPv6.
        if reason != nil, peer.subnet == nil, let ipv6, ipv6.planner.ignoreReason(peer) == nil { return nil }
        return reason
    }

    /// Dual-stack: why a peer routed over IPv4 gets no IPv6 entries; nil when it gets them
    /// (or the network is not dual-stack).
    public func ipv6IgnoreReason(_ peer: Peer) -> String? {
        guard ipv4 != nil else { return nil }
        return ipv6?.planner.ignoreReason(peer)
    }

    /// Re-reads the kernel and applies what is missing or stale, family by family (one
    /// family's failure does not hold up the other's). Returns how many steps failed.
    @discardableResult
    public func sync(peers: [Peer]) throws -> Int {
        var failures = 0
        var thrown: (any Error)?
        if let ipv4 {
            do { failures += try ipv4.sync(peers: peers).failures.count } catch { thrown = error }
        }
        if let ipv6 {
            do { failures += try ipv6.sync(peers: peers).failures.count } catch { thrown = thrown ?? error }
        }
        if let thrown { throw thrown }
        return failures
    }
}
