// Packet building and checking for the data-path targets, written independently of the code
// under test (byte by byte, the definitions from the RFCs), so the targets compare the fast
// code against a plain reading of the standard.

/// The RFC 1071 sum, one 16-bit big-endian word at a time, folded; not complemented.
func referenceSum(_ bytes: ArraySlice<UInt8>, initial: UInt32 = 0) -> UInt32 {
    bytes.withUnsafeBufferPointer { bytes in
        var total = UInt64(initial)
        var index = 0
        while index + 1 < bytes.count {
            total += UInt64(bytes[index]) << 8 | UInt64(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { total += UInt64(bytes[index]) << 8 }
        while total >> 16 != 0 { total = (total & 0xFFFF) + (total >> 16) }
        return UInt32(total)
    }
}

func referencePseudoSum(source: UInt32, destination: UInt32, proto: UInt8, length: Int) -> UInt32 {
    var total = UInt64(source >> 16) + UInt64(source & 0xFFFF) + UInt64(destination >> 16) + UInt64(destination & 0xFFFF)
        + UInt64(proto) + UInt64(length)
    while total >> 16 != 0 { total = (total & 0xFFFF) + (total >> 16) }
    return UInt32(total)
}

func address(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
    UInt32(word(bytes, offset)) << 16 | UInt32(word(bytes, offset + 2))
}

/// Whether an IPv4 packet's header checksum verifies (IHL from the packet).
func ipHeaderVerifies(_ packet: [UInt8]) -> Bool {
    let ihl = Int(packet[0] & 0x0F) * 4
    return referenceSum(packet[0..<ihl]) == 0xFFFF
}

/// Whether an IPv4 TCP packet's TCP checksum verifies (pseudo-header included).
func tcpVerifies(_ packet: [UInt8]) -> Bool {
    let ihl = Int(packet[0] & 0x0F) * 4
    let pseudo = referencePseudoSum(source: address(packet, 12), destination: address(packet, 16), proto: 6, length: packet.count - ihl)
    return referenceSum(packet[ihl...], initial: pseudo) == 0xFFFF
}

/// A TCP flow's constant parts, drawn from the fuzz bytes.
struct FuzzFlow {
    var source: UInt32, destination: UInt32
    var sourcePort: UInt16, destinationPort: UInt16
    var sequence: UInt32, acknowledgement: UInt32
    var window: UInt16
    var options: [UInt8]
    var tos: UInt8
    var ttl: UInt8
    var ipID: UInt16
    var ipOptions: [UInt8]

    init(_ input: inout FuzzReader) {
        source = input.u32()
        destination = input.u32()
        sourcePort = input.u16()
        destinationPort = input.u16()
        sequence = input.u32()
        acknowledgement = input.u32()
        window = input.u16()
        let optionWords = input.int(in: 0...10)
        options = input.take(optionWords * 4)
        options += [UInt8](repeating: 1, count: optionWords * 4 - options.count)  // NOPs where the input ran out
        tos = input.byte()
        ttl = input.byte()
        ipID = input.u16()
        // IP options are rare but legal: up to 40 bytes (IHL up to 15).
        let ipOptionWords = input.byte() % 16 == 0 ? input.int(in: 1...10) : 0
        ipOptions = [UInt8](repeating: 1, count: ipOptionWords * 4)
    }

    var ipHeaderLength: Int { 20 + ipOptions.count }
    var headersLength: Int { ipHeaderLength + 20 + options.count }

    /// An IPv4 TCP packet. `checksum`: .complete (a wire segment), .partial (the pseudo-header
    /// sum only, as a TUN with TSO hands a super-packet over) or .garbage(value).
    enum Checksum { case complete, partial, value(UInt16) }

    func packet(flags: UInt8, payload: [UInt8], sequenceOffset: UInt32 = 0, ipID: UInt16? = nil, dontFragment: Bool = true,
                checksum: Checksum = .complete) -> [UInt8] {
        let ihl = ipHeaderLength
        let tcpLength = 20 + options.count
        let total = ihl + tcpLength + payload.count
        var bytes = [UInt8](repeating: 0, count: total)
        bytes[0] = 0x40 | UInt8(ihl / 4)
        bytes[1] = tos
        setWord(&bytes, 2, UInt16(truncatingIfNeeded: total))
        setWord(&bytes, 4, ipID ?? self.ipID)
        setWord(&bytes, 6, dontFragment ? 0x4000 : 0)
        bytes[8] = ttl
        bytes[9] = 6
        setWord(&bytes, 12, UInt16(source >> 16)); setWord(&bytes, 14, UInt16(truncatingIfNeeded: source))
        setWord(&bytes, 16, UInt16(destination >> 16)); setWord(&bytes, 18, UInt16(truncatingIfNeeded: destination))
        bytes.replaceSubrange(20..<ihl, with: ipOptions)
        setWord(&bytes, 10, ~UInt16(truncatingIfNeeded: referenceSum(bytes[0..<ihl])))
        setWord(&bytes, ihl, sourcePort); setWord(&bytes, ihl + 2, destinationPort)
        let segmentSequence = sequence &+ sequenceOffset
        setWord(&bytes, ihl + 4, UInt16(segmentSequence >> 16)); setWord(&bytes, ihl + 6, UInt16(truncatingIfNeeded: segmentSequence))
        setWord(&bytes, ihl + 8, UInt16(acknowledgement >> 16)); setWord(&bytes, ihl + 10, UInt16(truncatingIfNeeded: acknowledgement))
        bytes[ihl + 12] = UInt8(tcpLength / 4) << 4
        bytes[ihl + 13] = flags
        setWord(&bytes, ihl + 14, window)
        bytes.replaceSubrange((ihl + 20)..<(ihl + tcpLength), with: options)
        bytes.replaceSubrange((ihl + tcpLength)..., with: payload)
        let pseudo = referencePseudoSum(source: source, destination: destination, proto: 6, length: tcpLength + payload.count)
        switch checksum {
        case .complete: setWord(&bytes, ihl + 16, ~UInt16(truncatingIfNeeded: referenceSum(bytes[ihl...], initial: pseudo)))
        case .partial: setWord(&bytes, ihl + 16, UInt16(truncatingIfNeeded: pseudo))
        case let .value(value): setWord(&bytes, ihl + 16, value)
        }
        return bytes
    }
}

/// The parts of a TCP segment the checks compare.
struct SegmentView {
    let bytes: [UInt8]
    var ipHeaderLength: Int { Int(bytes[0] & 0x0F) * 4 }
    var headersLength: Int { ipHeaderLength + Int(bytes[ipHeaderLength + 12] >> 4) * 4 }
    var totalLength: Int { Int(word(bytes, 2)) }
    var ipID: UInt16 { word(bytes, 4) }
    var sequence: UInt32 { address(bytes, ipHeaderLength + 4) }
    var flags: UInt8 { bytes[ipHeaderLength + 13] }
    var payload: ArraySlice<UInt8> { bytes[headersLength...] }
}
