/// A vxlan forwarding entry (`bridge fdb append <mac> dev <device> dst <destination> self
/// permanent`): frames for the peer's VTEP MAC go to the peer's public IP (its `PublicIPv6`
/// on the IPv6 device).
public struct KernelFDBEntry<Address: IPAddress>: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var device: KernelDevice
    public var mac: MACAddress
    public var destination: Address

    public init(device: KernelDevice, mac: MACAddress, destination: Address) {
        self.device = device
        self.mac = mac
        self.destination = destination
    }

    public var description: String { "fdb \(mac) dst \(destination) dev \(device)" }

    public static func < (lhs: KernelFDBEntry, rhs: KernelFDBEntry) -> Bool {
        (lhs.device.index, lhs.mac, lhs.destination) < (rhs.device.index, rhs.mac, rhs.destination)
    }
}
