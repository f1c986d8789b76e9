import AgentCore

/// IPv6/ICMPv6 echo bytes for the simulated containers of a dual-stack network, laid out as a
/// kernel would: a 40-byte header, then the 8-byte ICMPv6 echo header and `ping`'s 56 bytes.
public enum SimPacketIPv6 {
    static let headerLength = 40

    public static func echo(request: Bool, from source: IPv6Address, to destination: IPv6Address,
                            identifier: UInt16, sequence: UInt16, hopLimit: UInt8 = 64) -> [UInt8] {
        let payloadLength = 8 + SimPacket.echoPayloadLength
        var bytes = [UInt8](repeating: 0, count: headerLength + payloadLength)
        bytes[0] = 0x60
        bytes[4] = UInt8(payloadLength >> 8)
        bytes[5] = UInt8(truncatingIfNeeded: payloadLength)
        bytes[6] = 58  // ICMPv6
        bytes[7] = hopLimit
        put(source, into: &bytes, at: 8)
        put(destination, into: &bytes, at: 24)
        bytes[40] = request ? 128 : 129
        bytes[44] = UInt8(identifier >> 8)
        bytes[45] = UInt8(truncatingIfNeeded: identifier)
        bytes[46] = UInt8(sequence >> 8)
        bytes[47] = UInt8(truncatingIfNeeded: sequence)
        for index in 48..<bytes.count { bytes[index] = UInt8(truncatingIfNeeded: index) }
        return bytes
    }

    public static func source(_ bytes: [UInt8]) -> IPv6Address { address(bytes, at: 8) }
    public static func destination(_ bytes: [UInt8]) -> IPv6Address { address(bytes, at: 24) }
    public static func hopLimit(_ bytes: [UInt8]) -> UInt8 { bytes[7] }

    /// An echo request's or reply's type (128, 129) and identity; nil for anything else.
    static func echo(_ bytes: [UInt8]) -> (type: UInt8, identifier: UInt16, sequence: UInt16)? {
        guard bytes.count >= 48, bytes[6] == 58, bytes[40] == 128 || bytes[40] == 129 else { return nil }
        return (bytes[40], UInt16(bytes[44]) << 8 | UInt16(bytes[45]), UInt16(bytes[46]) << 8 | UInt16(bytes[47]))
    }

    /// A router forwarding the packet: hop limit down by one; false when it reaches 0.
    static func forward(_ bytes: inout [UInt8]) -> Bool {
        guard bytes[7] > 1 else { return false }
        bytes[7] -= 1
        return true
    }

    private static func address(_ bytes: [UInt8], at offset: Int) -> IPv6Address {
        IPv6Address(bits: bytes[offset..<offset + 16].reduce(UInt128(0)) { $0 << 8 | UInt128($1) })
    }

    private static func put(_ address: IPv6Address, into bytes: inout [UInt8], at offset: Int) {
        for index in 0..<16 { bytes[offset + index] = UInt8(truncatingIfNeeded: address.bits >> (8 * (15 - index))) }
    }
}
