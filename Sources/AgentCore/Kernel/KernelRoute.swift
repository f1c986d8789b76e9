/// A route in the main table (IPv4, or IPv6 for a dual-stack network's second family), as the
/// kernel backends program it: `<destination> via <gateway> dev <device> [onlink] proto flannel` (102).
public struct KernelRoute<Address: IPAddress>: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var destination: IPNetwork<Address>
    public var gateway: Address?
    public var device: KernelDevice
    /// The gateway is reachable on the device even though no address covers it (vxlan).
    public var onlink: Bool
    /// The route's origin (`rtm_protocol`). Ours carry `flannelProtocol`, so that any route
    /// we ever made is recognised as ours whatever its length; upstream's carry `boot`.
    public var protocolNumber: UInt8

    /// Our routes' `rtm_protocol`: unassigned in the kernel's and iproute2's lists
    /// (`dist/rt_protos.d/flannel.conf` names it for `ip route`).
    public static var flannelProtocol: UInt8 { 102 }
    /// `RTPROT_BOOT`: what upstream's routes (netlink's default) carry.
    public static var bootProtocol: UInt8 { 3 }

    public init(destination: IPNetwork<Address>, gateway: Address?, device: KernelDevice, onlink: Bool,
                protocolNumber: UInt8 = KernelRoute.flannelProtocol) {
        self.destination = destination
        self.gateway = gateway
        self.device = device
        self.onlink = onlink
        self.protocolNumber = protocolNumber
    }

    public var isOurs: Bool { protocolNumber == Self.flannelProtocol }

    public var description: String {
        var text = "\(destination)"
        if let gateway { text += " via \(gateway)" }
        text += " dev \(device)"
        if onlink { text += " onlink" }
        // Ours are the usual case; another origin is worth saying (upstream's, an operator's).
        if !isOurs { text += " proto \(protocolNumber)" }
        return text
    }

    public static func < (lhs: KernelRoute, rhs: KernelRoute) -> Bool {
        (lhs.destination, lhs.device.index) < (rhs.destination, rhs.device.index)
    }
}
