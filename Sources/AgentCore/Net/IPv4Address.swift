/// An IPv4 address. Parses only the strict dotted-quad form ("10.1.82.0"): no leading
/// zeros (they mean octal to some tools), no shortened forms.
public struct IPv4Address: IPAddress {
    public var bits: UInt32

    public init(bits: UInt32) { self.bits = bits }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        bits = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    public static var familyName: String { "IPv4" }

    public init(parsing text: String) throws(AddressParseError) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else {
            throw AddressParseError(text: text, reason: "an IPv4 address has four dot-separated numbers, like 10.1.82.0")
        }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw AddressParseError(text: text, reason: "\"\(part)\" is not a number from 0 to 255")
            }
            guard part.count == 1 || part.first != "0" else {
                throw AddressParseError(text: text, reason: "\"\(part)\" has a leading zero; write it without")
            }
            guard let octet = UInt32(part), octet <= 255 else {
                throw AddressParseError(text: text, reason: "\"\(part)\" is not a number from 0 to 255")
            }
            value = value << 8 | octet
        }
        bits = value
    }

    /// Parses, or returns nil.
    public init?(_ text: String) {
        guard let parsed = try? IPv4Address(parsing: text) else { return nil }
        self = parsed
    }

    public var octets: (UInt8, UInt8, UInt8, UInt8) {
        (UInt8(bits >> 24), UInt8(truncatingIfNeeded: bits >> 16), UInt8(truncatingIfNeeded: bits >> 8), UInt8(truncatingIfNeeded: bits))
    }

    public var description: String {
        let o = octets
        return "\(o.0).\(o.1).\(o.2).\(o.3)"
    }

    public static let any = IPv4Address(bits: 0)

    /// 224.0.0.0/4.
    public var isMulticast: Bool { bits >> 28 == 0xE }
}
