import AgentCore

/// Real IPv4/ICMP bytes for the simulated containers: the same bytes a kernel would put on
/// the wire, so the agent's packet code handles them exactly as it handles real ones.
public enum SimPacket {
    public static let echoPayloadLength = 56

    /// An echo request or reply: 20-byte header + 8-byte ICMP header + 56 bytes = 84, as `ping`.
    public static func echo(request: Bool, from source: IPv4Address, to destination: IPv4Address,
                            identifier: UInt16, sequence: UInt16, ttl: UInt8 = 64) -> [UInt8] {
        var bytes = ipv4(length: 20 + 8 + echoPayloadLength, identification: sequence, ttl: ttl, proto: 1, from: source, to: destination)
        bytes[20] = request ? 8 : 0
        put16(&bytes, 24, identifier)
        put16(&bytes, 26, sequence)
        for index in 28..<bytes.count { bytes[index] = UInt8(truncatingIfNeeded: index) }
        let icmpSum = bytes.withUnsafeBytes { InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: $0[20...])) }
        put16(&bytes, 22, icmpSum)
        return bytes
    }

    /// A UDP datagram (checksum 0, allowed over IPv4) with a 32-byte payload: the probe for
    /// ICMP errors, which flannel's proxy (like upstream's) never sends about ICMP packets.
    public static func udp(from source: IPv4Address, to destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16,
                           ttl: UInt8 = 64) -> [UInt8] {
        var bytes = ipv4(length: 20 + 8 + 32, ttl: ttl, proto: 17, from: source, to: destination)
        put16(&bytes, 20, sourcePort)
        put16(&bytes, 22, destinationPort)
        put16(&bytes, 24, 40)
        return bytes
    }

    /// `length` bytes, zeroed, after a 20-byte IPv4 header (checksum included) that says so.
    static func ipv4(length: Int, identification: UInt16 = 0, dontFragment: Bool = false, ttl: UInt8, proto: UInt8,
                     from source: IPv4Address, to destination: IPv4Address) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: length)
        bytes[0] = 0x45
        put16(&bytes, 2, UInt16(length))
        put16(&bytes, 4, identification)
        if dontFragment { put16(&bytes, 6, 0x4000) }
        bytes[8] = ttl
        bytes[9] = proto
        put32(&bytes, 12, source.bits)
        put32(&bytes, 16, destination.bits)
        let headerSum = bytes.withUnsafeBytes { InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<20])) }
        put16(&bytes, 10, headerSum)
        return bytes
    }

    public static func source(_ bytes: [UInt8]) -> IPv4Address { IPv4Address(bits: get32(bytes, 12)) }
    public static func destination(_ bytes: [UInt8]) -> IPv4Address { IPv4Address(bits: get32(bytes, 16)) }
    public static func ttl(_ bytes: [UInt8]) -> UInt8 { bytes[8] }
    public static func icmpType(_ bytes: [UInt8]) -> UInt8? {
        bytes.count > 20 && bytes[9] == 1 ? bytes[Int(bytes[0] & 0x0F) * 4] : nil
    }
    public static func icmpCode(_ bytes: [UInt8]) -> UInt8? {
        bytes.count > 21 && bytes[9] == 1 ? bytes[Int(bytes[0] & 0x0F) * 4 + 1] : nil
    }
    /// An echo's identifier and sequence, or for an ICMP error, those of the echo it quotes.
    public static func echoIdentity(_ bytes: [UInt8]) -> (identifier: UInt16, sequence: UInt16)? {
        guard let type = icmpType(bytes) else { return nil }
        let icmp = Int(bytes[0] & 0x0F) * 4
        if type == 0 || type == 8 { return (get16(bytes, icmp + 4), get16(bytes, icmp + 6)) }
        // Destination unreachable quotes the original IP header and 8 bytes of its payload.
        let quoted = icmp + 8
        guard bytes.count >= quoted + 28 else { return nil }
        let quotedICMP = quoted + Int(bytes[quoted] & 0x0F) * 4
        guard bytes.count >= quotedICMP + 8 else { return nil }
        // A quoted UDP probe is known by its ports, a quoted echo by identifier and sequence.
        if bytes[quoted + 9] == 17 { return (get16(bytes, quotedICMP), get16(bytes, quotedICMP + 2)) }
        return (get16(bytes, quotedICMP + 4), get16(bytes, quotedICMP + 6))
    }

    /// The kernel's forwarding step: TTL − 1 with the checksum fixed; false when it hits 0.
    public static func forward(_ bytes: inout [UInt8]) -> Bool {
        bytes.withUnsafeMutableBytes { IPv4Packet($0).decrementTTL() }
    }

    static func put16(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt16) {
        bytes[offset] = UInt8(value >> 8)
        bytes[offset + 1] = UInt8(value & 0xFF)
    }

    static func put32(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt32) {
        put16(&bytes, offset, UInt16(value >> 16))
        put16(&bytes, offset + 2, UInt16(value & 0xFFFF))
    }

    static func get16(_ bytes: [UInt8], _ offset: Int) -> UInt16 { UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]) }
    static func get32(_ bytes: [UInt8], _ offset: Int) -> UInt32 { UInt32(get16(bytes, offset)) << 16 | UInt32(get16(bytes, offset + 2)) }
}
