/// ICMP Destination Unreachable / Net Unreachable (type 3, code 0), written back into the
/// TUN when no peer holds the destination's subnet, so `ping` says "Destination Net
/// Unreachable" at once instead of timing out.
public enum ICMPUnreachable {
    public static let type: UInt8 = 3
    public static let netUnreachableCode: UInt8 = 0

    /// Whether an error may be sent about `packet` (RFC 1122: never about an ICMP packet we
    /// cannot classify as a query, a non-first fragment, or a malformed header; we keep
    /// upstream's stricter rule of never answering any ICMP).
    public static func mayAnswer(_ packet: IPv4Packet) -> Bool {
        packet.validate() == nil && packet.proto != IPv4Packet.icmpProtocol && !packet.isNonFirstFragment
    }

    /// Bytes needed for the reply to `packet`: 20 (IP) + 8 (ICMP) + offender's header + 8.
    public static func replyLength(for packet: IPv4Packet) -> Int {
        20 + 8 + packet.headerLength + min(8, packet.totalLength - packet.headerLength)
    }

    /// Writes the reply into `out` (at least `replyLength` bytes) and returns its length.
    /// Source is `from` (flannel0's address), destination the offender's source.
    public static func write(replyTo packet: IPv4Packet, from source: IPv4Address, into out: UnsafeMutableRawBufferPointer) -> Int {
        let quoted = packet.headerLength + min(8, packet.totalLength - packet.headerLength)
        let total = 28 + quoted
        precondition(out.count >= total, "reply buffer too small")
        let ip = IPv4Packet(out)
        out[0] = 0x45
        out[1] = 0
        ip.setWord(UInt16(total), at: 2)
        ip.setWord(0, at: 4)      // identification
        ip.setWord(0x4000, at: 6) // don't fragment
        out[8] = 64               // TTL
        out[9] = IPv4Packet.icmpProtocol
        ip.setWord(0, at: 10)
        ip.setWord(UInt16(source.bits >> 16), at: 12)
        ip.setWord(UInt16(truncatingIfNeeded: source.bits), at: 14)
        let destination = packet.source
        ip.setWord(UInt16(destination.bits >> 16), at: 16)
        ip.setWord(UInt16(truncatingIfNeeded: destination.bits), at: 18)
        ip.setWord(InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: out[0..<20])), at: 10)

        out[20] = type
        out[21] = netUnreachableCode
        ip.setWord(0, at: 22)  // checksum, below
        ip.setWord(0, at: 24)  // unused
        ip.setWord(0, at: 26)
        for index in 0..<quoted { out[28 + index] = packet.bytes[index] }
        ip.setWord(InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: out[20..<total])), at: 22)
        return total
    }
}
