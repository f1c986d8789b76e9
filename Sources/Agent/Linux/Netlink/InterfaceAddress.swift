/// An address on an interface with its prefix length, host bits kept ("192.0.2.11/24"),
/// unlike `IPv4Network`, which masks them away.
public struct InterfaceAddress: Hashable, Sendable, CustomStringConvertible {
    public var address: IPv4Address
    public var prefixLength: Int

    public init(address: IPv4Address, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    /// The connected network the address lies in.
    public var network: IPv4Network { IPv4Network(address: address, prefixLength: prefixLength) }

    public var description: String { "\(address)/\(prefixLength)" }
}
