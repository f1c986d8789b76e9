/// An address on an interface with its prefix length, host bits kept ("192.0.2.11/24"),
/// unlike `IPNetwork`, which masks them away.
public struct InterfaceAddress<Address: IPAddress>: Hashable, Sendable, CustomStringConvertible {
    public var address: Address
    public var prefixLength: Int

    public init(address: Address, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    /// The connected network the address lies in.
    public var network: IPNetwork<Address> { IPNetwork(address: address, prefixLength: prefixLength) }

    public var description: String { "\(address)/\(prefixLength)" }
}
