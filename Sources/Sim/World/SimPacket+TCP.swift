import AgentCore

/// TCP bytes for the simulated containers' streams: what a kernel hands a TUN with TSO (one
/// super-packet, its TCP checksum left partial) and what a receiver checks.
extension SimPacket {
    /// The byte at `offset` of every simulated stream: any slip or corruption shows.
    public static func streamByte(_ offset: Int) -> UInt8 { UInt8(truncatingIfNeeded: offset &* 7 &+ offset >> 8) }

    /// An IPv4 TCP packet (DF, no options) carrying `payload`. `partialChecksum`: the TCP
    /// checksum field holds only the pseudo-header sum, as the kernel leaves it for TSO
    /// (CHECKSUM_PARTIAL); else the full checksum.
    public static func tcp(from source: IPv4Address, to destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16,
                           sequence: UInt32, flags: UInt8, ipID: UInt16, payload: ArraySlice<UInt8>, partialChecksum: Bool,
                           ttl: UInt8 = 64) -> [UInt8] {
        var bytes = ipv4(length: 40 + payload.count, identification: ipID, dontFragment: true, ttl: ttl, proto: 6,
                         from: source, to: destination)
        put16(&bytes, 20, sourcePort)
        put16(&bytes, 22, destinationPort)
        put32(&bytes, 24, sequence)
        put32(&bytes, 28, 1)
        bytes[32] = 5 << 4
        bytes[33] = flags
        put16(&bytes, 34, 65_535)
        bytes.replaceSubrange(40..., with: payload)
        let pseudo = InternetChecksum.pseudoHeaderSum(source: source, destination: destination, proto: 6, length: 20 + payload.count)
        if partialChecksum {
            put16(&bytes, 36, UInt16(truncatingIfNeeded: pseudo))
        } else {
            let sum = bytes.withUnsafeBytes { InternetChecksum.sum(UnsafeRawBufferPointer(rebasing: $0[20...]), initial: pseudo) }
            put16(&bytes, 36, ~UInt16(truncatingIfNeeded: sum))
        }
        return bytes
    }

    /// The virtio_net_hdr a TUN with TSO hands with `packet` when it is longer than one `mss`.
    public static func superPacketHeader(_ packet: [UInt8], mss: Int) -> VirtioNetHeader {
        VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, gsoType: packet.count - 40 > mss ? VirtioNetHeader.gsoTCPv4 : VirtioNetHeader.gsoNone,
                        headerLength: 40, gsoSize: UInt16(mss), checksumStart: 20, checksumOffset: 16)
    }

    /// Whether both the IPv4 header checksum and the TCP checksum (over the pseudo-header)
    /// verify.
    public static func tcpChecksumsVerify(_ packet: [UInt8]) -> Bool {
        guard packet.count >= 40, packet[0] == 0x45, packet[9] == 6 else { return false }
        return packet.withUnsafeBytes { bytes in
            let pseudo = InternetChecksum.pseudoHeaderSum(source: source(packet), destination: destination(packet), proto: 6,
                                                          length: packet.count - 20)
            return InternetChecksum.verifies(UnsafeRawBufferPointer(rebasing: bytes[0..<20]))
                && InternetChecksum.sum(UnsafeRawBufferPointer(rebasing: bytes[20...]), initial: pseudo) == 0xFFFF
        }
    }
}
