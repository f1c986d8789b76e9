/// An IPv6 address. Parses the RFC 4291 text forms (with `::` and an embedded IPv4 tail)
/// and prints the RFC 5952 canonical form, which is what flannel's dual-stack keys use.
public struct IPv6Address: IPAddress {
    public var bits: UInt128

    public init(bits: UInt128) { self.bits = bits }

    public static var familyName: String { "IPv6" }

    public init(parsing text: String) throws(AddressParseError) {
        func fail(_ reason: String) -> AddressParseError {
            AddressParseError(text: text, reason: reason)
        }
        guard !text.isEmpty else { throw fail("it is empty") }
        var groups: [UInt16] = []
        var head: [UInt16] = []
        var sawDoubleColon = false

        let halves = Self.split(text, on: "::")
        guard halves.count <= 2 else { throw fail("\"::\" may appear only once") }
        sawDoubleColon = halves.count == 2

        func parseGroups(_ part: String, allowIPv4Tail: Bool) throws(AddressParseError) -> [UInt16] {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if piece.contains(".") {
                    guard allowIPv4Tail, index == pieces.count - 1 else {
                        throw fail("an embedded IPv4 address may only end the address")
                    }
                    let v4 = try IPv4Address(parsing: String(piece))
                    result.append(UInt16(v4.bits >> 16))
                    result.append(UInt16(truncatingIfNeeded: v4.bits))
                    continue
                }
                guard !piece.isEmpty, piece.count <= 4, piece.allSatisfy(\.isHexDigit), let value = UInt16(piece, radix: 16) else {
                    throw fail("\"\(piece)\" is not a group of one to four hex digits")
                }
                result.append(value)
            }
            return result
        }

        if sawDoubleColon {
            head = try parseGroups(halves[0], allowIPv4Tail: false)
            let tail = try parseGroups(halves[1], allowIPv4Tail: true)
            guard head.count + tail.count <= 7 else { throw fail("too many groups for \"::\" to stand for") }
            groups = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            groups = try parseGroups(text, allowIPv4Tail: true)
            guard groups.count == 8 else { throw fail("an IPv6 address has eight groups (or \"::\")") }
        }
        var value: UInt128 = 0
        for group in groups { value = value << 16 | UInt128(group) }
        bits = value
    }

    /// Splits on every occurrence of `separator` (Foundation-free `components(separatedBy:)`).
    private static func split(_ text: String, on separator: String) -> [String] {
        var parts: [String] = []
        var rest = Substring(text)
        while let range = rest.firstRange(of: separator) {
            parts.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        parts.append(String(rest))
        return parts
    }

    public init?(_ text: String) {
        guard let parsed = try? IPv6Address(parsing: text) else { return nil }
        self = parsed
    }

    /// What Go's `IsGlobalUnicast` (and so upstream) accepts as a host's address: not
    /// unspecified, loopback, link-local (fe80::/10) or multicast (ff00::/8). Unique local
    /// (fd00::/8) and documentation (2001:db8::/32) addresses count.
    public var isGlobalUnicast: Bool {
        let top = bits >> 112
        return bits != 0 && bits != 1 && top & 0xffc0 != 0xfe80 && top & 0xff00 != 0xff00
    }

    public var groups: [UInt16] {
        (0..<8).map { UInt16(truncatingIfNeeded: bits >> (UInt128(7 - $0) * 16)) }
    }

    /// RFC 5952: lower-case hex, no leading zeros, the longest run (of two or more) of zero
    /// groups shortened to "::", the first such run when two are equally long.
    public var description: String {
        let groups = self.groups
        var bestStart = -1
        var bestLength = 0
        var index = 0
        while index < 8 {
            if groups[index] == 0 {
                var end = index
                while end < 8 && groups[end] == 0 { end += 1 }
                if end - index > bestLength && end - index >= 2 {
                    bestStart = index
                    bestLength = end - index
                }
                index = end
            } else {
                index += 1
            }
        }
        func hex(_ range: Range<Int>) -> String {
            range.map { String(groups[$0], radix: 16) }.joined(separator: ":")
        }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
}
