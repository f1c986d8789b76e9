/// An IPv4 route in the main table, as the kernel backends program it:
/// `<destination> via <gateway> dev <device> [onlink]`.
public struct KernelRoute: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var destination: IPv4Network
    public var gateway: IPv4Address?
    public var device: KernelDevice
    /// The gateway is reachable on the device even though no address covers it (vxlan).
    public var onlink: Bool

    public init(destination: IPv4Network, gateway: IPv4Address?, device: KernelDevice, onlink: Bool) {
        self.destination = destination
        self.gateway = gateway
        self.device = device
        self.onlink = onlink
    }

    public var description: String {
        var text = "\(destination)"
        if let gateway { text += " via \(gateway)" }
        text += " dev \(device)"
        if onlink { text += " onlink" }
        return text
    }

    public static func < (lhs: KernelRoute, rhs: KernelRoute) -> Bool {
        (lhs.destination, lhs.device.index) < (rhs.destination, rhs.device.index)
    }
}
