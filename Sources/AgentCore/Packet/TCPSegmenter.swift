/// Cuts a TCP super-packet, as a TUN with TSO hands it over (one IPv4 header, one TCP header,
/// up to 64 KB of payload, the checksum only started), into the segments a NIC would have
/// sent: each a complete IPv4 packet with its own length, IP ID, header checksum, sequence
/// number and TCP checksum; FIN and PSH only on the last, CWR only on the first. Pure, no
/// allocation: the segments are written back to back into the caller's buffer, every one
/// `segmentLength` bytes but the last, which is the layout `UDP_SEGMENT` sends as one call.
public enum TCPSegmenter {
    public struct Segments: Equatable, Sendable {
        public var count: Int
        /// The length of every segment but the last.
        public var segmentLength: Int
        public var lastLength: Int
        public var totalLength: Int { segmentLength * (count - 1) + lastLength }
    }

    public enum Refusal: Error, Equatable, Sendable {
        /// Not an IPv4 TCP packet with sane header and total lengths.
        case malformed
        /// The kernel asked for a kind of segmentation we do not do (UDP, IPv6).
        case unsupportedOffload
        /// The output buffer cannot hold the segments.
        case noRoom
    }

    public static let tcpProtocol: UInt8 = 6
    static let fin: UInt8 = 0x01, psh: UInt8 = 0x08, cwr: UInt8 = 0x80

    /// Cuts `packet` (the bytes after the vnet header) into `header.gsoSize`-byte segments.
    public static func segment(_ packet: UnsafeRawBufferPointer, header: VirtioNetHeader,
                               into output: UnsafeMutableRawBufferPointer) -> Result<Segments, Refusal> {
        guard header.isTCPv4Super, header.gsoSize > 0 else { return .failure(.unsupportedOffload) }
        guard let layout = TCPLayout(packet) else { return .failure(.malformed) }
        let mss = Int(header.gsoSize)
        let payload = layout.totalLength - layout.headersLength
        let count = max(1, (payload + mss - 1) / mss)
        let segmentLength = layout.headersLength + min(mss, payload)
        let lastLength = layout.headersLength + (payload - (count - 1) * mss)
        let segments = Segments(count: count, segmentLength: segmentLength, lastLength: lastLength)
        guard segments.totalLength <= output.count else { return .failure(.noRoom) }

        let ipID = word(packet, 4)
        let sequence = UInt32(word(packet, layout.ipHeaderLength + 4)) << 16 | UInt32(word(packet, layout.ipHeaderLength + 6))
        let flagsOffset = layout.ipHeaderLength + 13
        let flags = packet[flagsOffset]
        let pseudo = InternetChecksum.pseudoHeaderSum(source: layout.source, destination: layout.destination, proto: tcpProtocol, length: 0)
        for index in 0..<count {
            let start = index * segmentLength
            let length = index == count - 1 ? lastLength : segmentLength
            let slice = UnsafeMutableRawBufferPointer(rebasing: output[start..<(start + length)])
            let payloadStart = layout.headersLength + index * mss
            slice.baseAddress!.copyMemory(from: packet.baseAddress!, byteCount: layout.headersLength)
            let payload = UnsafeRawBufferPointer(rebasing: packet[payloadStart..<(payloadStart + length - layout.headersLength)])
            setWord(slice, 2, UInt16(length))
            setWord(slice, 4, ipID &+ UInt16(truncatingIfNeeded: index))
            setWord(slice, 10, 0)
            setWord(slice, 10, InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: slice[0..<layout.ipHeaderLength])))
            let tcp = layout.ipHeaderLength
            let segmentSequence = sequence &+ UInt32(truncatingIfNeeded: index * mss)
            setWord(slice, tcp + 4, UInt16(segmentSequence >> 16))
            setWord(slice, tcp + 6, UInt16(truncatingIfNeeded: segmentSequence))
            var segmentFlags = flags
            if index != count - 1 { segmentFlags &= ~(fin | psh) }
            if index != 0 { segmentFlags &= ~cwr }
            slice[tcp + 13] = segmentFlags
            setWord(slice, tcp + 16, 0)
            let sum = segmentSum(header: UnsafeRawBufferPointer(rebasing: slice[tcp..<layout.headersLength]), copying: payload,
                                 to: slice.baseAddress! + layout.headersLength, pseudo: InternetChecksum.fold(UInt64(pseudo) + UInt64(length - tcp)))
            setWord(slice, tcp + 16, ~UInt16(truncatingIfNeeded: sum))
        }
        return .success(segments)
    }

    /// Completes a checksum the kernel only started (`VIRTIO_NET_HDR_F_NEEDS_CSUM` on a packet
    /// not to be cut): the field at `checksumStart + checksumOffset` holds the pseudo-header
    /// sum; the sum from `checksumStart` to the end, complemented, goes there. False when the
    /// offsets do not fit the packet.
    public static func completeChecksum(_ packet: UnsafeMutableRawBufferPointer, header: VirtioNetHeader) -> Bool {
        let start = Int(header.checksumStart), field = start + Int(header.checksumOffset)
        guard field + 2 <= packet.count, start < packet.count else { return false }
        var value = ~UInt16(truncatingIfNeeded: InternetChecksum.sum(UnsafeRawBufferPointer(rebasing: packet[start...])))
        // UDP sends a computed 0 as 0xFFFF (0 means "no checksum"); TCP takes either.
        if value == 0 { value = 0xFFFF }
        setWord(packet, field, value)
        return true
    }

    /// The sum of a TCP segment (pseudo-header, `header`, payload) while its payload is copied
    /// from `payload` to `destination`: one pass over the payload. The two parts add up as one
    /// because a TCP header's length is a multiple of 4 (the payload starts at an even offset).
    static func segmentSum(header: UnsafeRawBufferPointer, copying payload: UnsafeRawBufferPointer,
                           to destination: UnsafeMutableRawPointer, pseudo: UInt32) -> UInt32 {
        let headerSum = InternetChecksum.sum(header, initial: pseudo)
        return InternetChecksum.fold(UInt64(headerSum) + UInt64(InternetChecksum.copyingSum(payload, to: destination)))
    }

    static func word(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    static func setWord(_ bytes: UnsafeMutableRawBufferPointer, _ offset: Int, _ value: UInt16) {
        bytes[offset] = UInt8(value >> 8)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value)
    }
}

/// Where the parts of an IPv4 TCP packet are, checked: version 4, not a fragment, protocol
/// TCP, header lengths within the total length, total length within the bytes.
struct TCPLayout {
    let ipHeaderLength: Int
    let headersLength: Int
    let totalLength: Int
    let source: IPv4Address
    let destination: IPv4Address

    init?(_ packet: UnsafeRawBufferPointer) {
        guard packet.count >= 40, packet[0] >> 4 == 4 else { return nil }
        let ipHeaderLength = Int(packet[0] & 0x0F) * 4
        let totalLength = Int(TCPSegmenter.word(packet, 2))
        guard ipHeaderLength >= 20, packet[9] == TCPSegmenter.tcpProtocol,
              TCPSegmenter.word(packet, 6) & 0x3FFF == 0,  // neither MF nor an offset
              totalLength <= packet.count, ipHeaderLength + 20 <= totalLength else { return nil }
        let tcpHeaderLength = Int(packet[ipHeaderLength + 12] >> 4) * 4
        guard tcpHeaderLength >= 20, ipHeaderLength + tcpHeaderLength <= totalLength else { return nil }
        self.ipHeaderLength = ipHeaderLength
        headersLength = ipHeaderLength + tcpHeaderLength
        self.totalLength = totalLength
        source = IPv4Address(bits: UInt32(TCPSegmenter.word(packet, 12)) << 16 | UInt32(TCPSegmenter.word(packet, 14)))
        destination = IPv4Address(bits: UInt32(TCPSegmenter.word(packet, 16)) << 16 | UInt32(TCPSegmenter.word(packet, 18)))
    }
}
