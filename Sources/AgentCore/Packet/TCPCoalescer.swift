/// Joins in-order segments of one TCP flow, as they arrive from a peer, back into one
/// super-packet for a TUN with TSO (the reverse of `TCPSegmenter`): one write into the kernel
/// instead of one per segment. Pure, no allocation: the packet grows in the caller's buffer,
/// after room for the vnet header.
///
/// A segment joins when it continues the packet exactly, as the kernel's GRO would have it:
/// same addresses, ports, TOS, TTL, acknowledgement, window and TCP options; DF set (so IP IDs
/// do not matter); the next sequence number; a payload no longer than the first's, after
/// segments all of the first's size; the same flags as the first (ACK, maybe ECE; PSH allowed,
/// and it ends the packet); a TCP checksum that verifies (the joined packet goes to the kernel
/// as checksum-partial, trusted: a bad segment is written alone for the kernel to drop); 64 KB
/// at most. CWR, SYN, FIN, RST and URG segments stay alone. Anything else starts a new packet.
public struct TCPCoalescer {
    /// Where the packet being built starts in the buffer: after the vnet header.
    public static let packetOffset = VirtioNetHeader.size
    static let maximumLength = 65_535

    /// Bytes of packet in the buffer (from `packetOffset`); 0 when nothing is open.
    public private(set) var length = 0
    public private(set) var segments = 0
    private var headersLength = 0
    private var ipHeaderLength = 0
    private var segmentPayload = 0
    private var lastPayload = 0
    private var nextSequence: UInt32 = 0
    private var closed = false
    private var flags: UInt8 = 0

    public init() {}

    public var isOpen: Bool { length > 0 }

    /// The payload bytes joined so far plus one set of headers per segment: what the segments
    /// would have weighed one by one.
    public var segmentBytes: Int { length + (segments - 1) * headersLength }

    /// Appends `packet` to the open one if it continues it; false (nothing changed) if not.
    public mutating func append(_ packet: UnsafeRawBufferPointer, buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard isOpen, !closed, lastPayload == segmentPayload, let layout = TCPLayout(packet),
              layout.ipHeaderLength == ipHeaderLength, layout.headersLength == headersLength,
              layout.totalLength == packet.count else { return false }
        let payload = layout.totalLength - layout.headersLength
        guard payload > 0, payload <= segmentPayload, length + payload <= Self.maximumLength,
              Self.packetOffset + length + payload <= buffer.count else { return false }
        let open = UnsafeRawBufferPointer(rebasing: buffer[Self.packetOffset..<(Self.packetOffset + length)])
        let flags = packet[ipHeaderLength + 13]
        guard flags & ~TCPSegmenter.psh == self.flags,
              TCPSegmenter.word(packet, ipHeaderLength + 4) == UInt16(nextSequence >> 16),
              TCPSegmenter.word(packet, ipHeaderLength + 6) == UInt16(truncatingIfNeeded: nextSequence),
              Self.sameFlow(open, packet, ipHeaderLength: ipHeaderLength, headersLength: headersLength) else { return false }
        // The payload is copied after the open packet as it is summed; `length` only moves if
        // the checksum verifies (a bad segment leaves nothing behind).
        guard Self.copyVerifying(packet, layout, payloadTo: buffer.baseAddress! + Self.packetOffset + length) else { return false }
        length += payload
        segments += 1
        lastPayload = payload
        nextSequence &+= UInt32(payload)
        if flags & TCPSegmenter.psh != 0 {
            buffer[Self.packetOffset + ipHeaderLength + 13] |= TCPSegmenter.psh
            closed = true
        }
        return true
    }

    /// Opens a new packet with `packet` (which must fit the buffer after the header room).
    /// False when it is no TCP segment that others could join: the caller writes it alone.
    public mutating func start(_ packet: UnsafeRawBufferPointer, buffer: UnsafeMutableRawBufferPointer) -> Bool {
        length = 0
        guard let layout = TCPLayout(packet), layout.totalLength == packet.count,
              packet.count + Self.packetOffset <= buffer.count else { return false }
        let payload = layout.totalLength - layout.headersLength
        let flags = packet[layout.ipHeaderLength + 13]
        // Only data segments with ACK (and ECE) and DF; SYN, FIN, RST, URG and CWR stay alone.
        guard payload > 0, flags & ~(TCPSegmenter.psh | Self.ece) == Self.ack, packet[6] & 0x40 != 0 else { return false }
        let open = buffer.baseAddress! + Self.packetOffset
        open.copyMemory(from: packet.baseAddress!, byteCount: layout.headersLength)
        guard Self.copyVerifying(packet, layout, payloadTo: open + layout.headersLength) else { return false }
        length = packet.count
        segments = 1
        ipHeaderLength = layout.ipHeaderLength
        headersLength = layout.headersLength
        segmentPayload = payload
        lastPayload = payload
        nextSequence = (UInt32(TCPSegmenter.word(packet, ipHeaderLength + 4)) << 16 | UInt32(TCPSegmenter.word(packet, ipHeaderLength + 6)))
            &+ UInt32(payload)
        closed = flags & TCPSegmenter.psh != 0
        self.flags = flags & ~TCPSegmenter.psh
        return true
    }

    /// Copies the segment's payload to `destination` and tells whether its TCP checksum (with
    /// the pseudo-header) verifies: one pass over the payload for both.
    static func copyVerifying(_ packet: UnsafeRawBufferPointer, _ layout: TCPLayout, payloadTo destination: UnsafeMutableRawPointer) -> Bool {
        let pseudo = InternetChecksum.pseudoHeaderSum(source: layout.source, destination: layout.destination,
                                                      proto: TCPSegmenter.tcpProtocol, length: layout.totalLength - layout.ipHeaderLength)
        return TCPSegmenter.segmentSum(header: UnsafeRawBufferPointer(rebasing: packet[layout.ipHeaderLength..<layout.headersLength]),
                                       copying: UnsafeRawBufferPointer(rebasing: packet[layout.headersLength..<layout.totalLength]),
                                       to: destination, pseudo: pseudo) == 0xFFFF
    }

    /// Closes the open packet: fixes its IP length and checksum, and writes the vnet header
    /// before it (one segment: a plain packet, untouched; more: a TCPv4 super-packet whose
    /// checksum the kernel completes). Returns the bytes to write to the TUN, from offset 0.
    public mutating func finish(buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard isOpen else { return 0 }
        defer { length = 0; segments = 0 }
        let header = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<VirtioNetHeader.size])
        guard segments > 1 else {
            VirtioNetHeader.plain.write(to: header)
            return Self.packetOffset + length
        }
        let packet = UnsafeMutableRawBufferPointer(rebasing: buffer[Self.packetOffset..<(Self.packetOffset + length)])
        TCPSegmenter.setWord(packet, 2, UInt16(length))
        TCPSegmenter.setWord(packet, 10, 0)
        TCPSegmenter.setWord(packet, 10, InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: packet[0..<ipHeaderLength])))
        let layout = TCPLayout(UnsafeRawBufferPointer(packet))!
        // CHECKSUM_PARTIAL: the field holds the pseudo-header sum, the kernel adds the rest.
        let pseudo = InternetChecksum.pseudoHeaderSum(source: layout.source, destination: layout.destination,
                                                      proto: TCPSegmenter.tcpProtocol, length: length - ipHeaderLength)
        TCPSegmenter.setWord(packet, ipHeaderLength + 16, UInt16(truncatingIfNeeded: pseudo))
        VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, gsoType: VirtioNetHeader.gsoTCPv4,
                        headerLength: UInt16(headersLength), gsoSize: UInt16(segmentPayload),
                        checksumStart: UInt16(ipHeaderLength), checksumOffset: 16).write(to: header)
        return Self.packetOffset + length
    }

    static let ack: UInt8 = 0x10, ece: UInt8 = 0x40

    /// Same IP header but for length, ID and checksum (bytes 2–5, 10–11); same TCP header but
    /// for sequence number, flags and checksum (bytes 4–7, 13, 16–17).
    static func sameFlow(_ open: UnsafeRawBufferPointer, _ packet: UnsafeRawBufferPointer, ipHeaderLength: Int, headersLength: Int) -> Bool {
        for index in 0..<headersLength {
            switch index {
            case 2...5, 10, 11: continue
            case ipHeaderLength + 4 ... ipHeaderLength + 7, ipHeaderLength + 13, ipHeaderLength + 16, ipHeaderLength + 17: continue
            default: if open[index] != packet[index] { return false }
            }
        }
        return true
    }
}
