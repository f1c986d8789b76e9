/// A permanent neighbour entry (ARP, or NDP for IPv6): `<address> lladdr <mac> dev <device>
/// PERMANENT`. vxlan resolves each peer's VTEP address (its subnet's base address) with one.
public struct KernelNeighbour<Address: IPAddress>: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var device: KernelDevice
    public var address: Address
    public var mac: MACAddress

    public init(device: KernelDevice, address: Address, mac: MACAddress) {
        self.device = device
        self.address = address
        self.mac = mac
    }

    public var description: String { "neighbour \(address) lladdr \(mac) dev \(device)" }

    public static func < (lhs: KernelNeighbour, rhs: KernelNeighbour) -> Bool {
        (lhs.device.index, lhs.address, lhs.mac) < (rhs.device.index, rhs.address, rhs.mac)
    }
}
