/// An IP address of one family, stored as an unsigned integer so that subnet math is
/// plain integer arithmetic. `IPv4Address` and `IPv6Address` conform.
public protocol IPAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    associatedtype Bits: FixedWidthInteger & UnsignedInteger & Sendable

    /// The address as a big-endian integer (the first octet is the most significant).
    var bits: Bits { get }
    init(bits: Bits)

    /// Parses the family's usual text form; throws `AddressParseError` naming the text.
    init(parsing text: String) throws(AddressParseError)

    /// "IPv4" or "IPv6", for messages.
    static var familyName: String { get }
}

extension IPAddress {
    public static var bitWidth: Int { Bits.bitWidth }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.bits < rhs.bits }

    /// The address `offset` positions further on, or nil past the end of the family's space.
    public func advanced(by offset: Bits) -> Self? {
        let (sum, overflow) = bits.addingReportingOverflow(offset)
        return overflow ? nil : Self(bits: sum)
    }
}

/// Text that is not an address (or network) of the expected family.
public struct AddressParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public var text: String
    public var reason: String

    public init(text: String, reason: String) {
        self.text = text
        self.reason = reason
    }

    public var description: String { "\"\(text)\" is not valid: \(reason)" }
}
