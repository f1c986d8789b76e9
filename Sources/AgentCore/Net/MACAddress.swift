/// An Ethernet address, written as upstream flannel writes `VtepMAC`: lower-case hex pairs
/// separated by colons ("c6:d2:32:6f:8f:44").
public struct MACAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var bytes: [UInt8]

    /// Six bytes; anything else is not a MAC address.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 6 else { return nil }
        self.bytes = bytes
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            // Hex digits only: UInt8(_:radix:) would take "+c" or "-0" as well.
            guard part.count == 2, part.allSatisfy(\.isHexDigit), let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.bytes = bytes
    }

    /// A random unicast, locally administered address (as `ip link add` would pick) from
    /// six random bytes supplied by the caller (the core draws nothing itself).
    public static func locallyAdministered(from random: [UInt8]) -> MACAddress {
        var bytes = Array(random.prefix(6))
        while bytes.count < 6 { bytes.append(0) }
        bytes[0] = (bytes[0] & 0xfe) | 0x02
        return MACAddress(bytes: bytes)!
    }

    public var isLocallyAdministeredUnicast: Bool { bytes[0] & 0x03 == 0x02 }

    public var description: String {
        bytes.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: ":")
    }

    public static func < (lhs: MACAddress, rhs: MACAddress) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}
