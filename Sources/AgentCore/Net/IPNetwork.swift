/// A network (an address and a prefix length) of either family, with the subnet math the
/// agent needs. The address is always masked: host bits are zero.
public struct IPNetwork<Address: IPAddress>: Hashable, Comparable, Sendable, CustomStringConvertible {
    public private(set) var address: Address
    public private(set) var prefixLength: Int

    /// Masks `address` to `prefixLength` (host bits are dropped, as flannel does for `Network`).
    public init(address: Address, prefixLength: Int) {
        precondition((0...Address.bitWidth).contains(prefixLength), "prefix length out of range")
        self.prefixLength = prefixLength
        self.address = Address(bits: address.bits & Self.mask(prefixLength))
    }

    /// Parses "10.1.0.0/16". With `strict`, host bits must be zero.
    public init(parsing text: String, strict: Bool = false) throws(AddressParseError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw AddressParseError(text: text, reason: "expected an \(Address.familyName) network in CIDR form, like \(Self.example)")
        }
        let address = try Address(parsing: String(parts[0]))
        guard let length = Int(parts[1]), parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
              (0...Address.bitWidth).contains(length)
        else {
            throw AddressParseError(text: text, reason: "the prefix length must be a number from 0 to \(Address.bitWidth)")
        }
        self.init(address: address, prefixLength: length)
        if strict && self.address != address {
            throw AddressParseError(text: text, reason: "host bits are set; the network is \(self)")
        }
    }

    public init?(_ text: String) {
        guard let parsed = try? Self(parsing: text) else { return nil }
        self = parsed
    }

    private static var example: String { Address.bitWidth == 32 ? "10.1.0.0/16" : "fd00:1::/48" }

    static func mask(_ length: Int) -> Address.Bits {
        length == 0 ? 0 : ~Address.Bits(0) << (Address.bitWidth - length)
    }

    public var mask: Address.Bits { Self.mask(prefixLength) }

    /// Number of addresses, or nil when it does not fit the family's integer (a /0).
    public var size: Address.Bits? {
        prefixLength == 0 ? nil : Address.Bits(1) << (Address.bitWidth - prefixLength)
    }

    /// The last address of the network (the broadcast address for IPv4).
    public var lastAddress: Address { Address(bits: address.bits | ~mask) }

    public func contains(_ other: Address) -> Bool {
        other.bits & mask == address.bits
    }

    /// Whether `other` lies entirely within this network.
    public func contains(_ other: IPNetwork) -> Bool {
        other.prefixLength >= prefixLength && contains(other.address)
    }

    public func overlaps(_ other: IPNetwork) -> Bool {
        contains(other.address) || other.contains(address)
    }

    /// The next network of the same size, or nil past the end of the address space.
    public func next() -> IPNetwork? {
        guard let size, let nextAddress = address.advanced(by: size) else { return nil }
        return IPNetwork(address: nextAddress, prefixLength: prefixLength)
    }

    /// The network's base address plus one: docker0's address (`FLANNEL_SUBNET=10.1.82.1/24`).
    public var firstHost: Address { Address(bits: address.bits &+ 1) }

    /// Whether `address` is on a boundary of networks of this length.
    public static func isAligned(_ address: Address, to length: Int) -> Bool {
        address.bits & ~mask(length) == 0
    }

    public var description: String { "\(address)/\(prefixLength)" }

    public static func < (lhs: IPNetwork, rhs: IPNetwork) -> Bool {
        (lhs.address, lhs.prefixLength) < (rhs.address, rhs.prefixLength)
    }
}

public typealias IPv4Network = IPNetwork<IPv4Address>
public typealias IPv6Network = IPNetwork<IPv6Address>
