/// `tcp-segmenter`: `TCPSegmenter.segment` (a TSO super-packet from flannel0 cut into wire
/// segments), `TCPSegmenter.completeChecksum` and `VirtioNetHeader` parsing.
///
/// Raw mode: a vnet header and a packet straight from the fuzz bytes, into an output buffer of
/// exactly the size the segments need (or a byte less, or more). Built mode: a valid
/// super-packet (flow, options, IP options, flags, MSS and a payload of up to 64 KB expanded
/// from a seed) as the kernel hands it over. Checked either way, against a reference model of
/// the layout rules: the same refusal or the same segment count and lengths; every segment's
/// IP and TCP checksums verify; its total length, IP ID (+index), sequence number (+index·MSS)
/// and flags (FIN/PSH on the last only, CWR on the first only) are right; the other header
/// bytes are the super-packet's; the payloads joined are the super-packet's payload; nothing
/// is written past the segments. `completeChecksum` accepts exactly the offsets that fit and
/// leaves a checksum that verifies with the pseudo-header sum that was in the field.
enum TCPSegmenterFuzz {
    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzReader(data)
        if input.byte() & 1 == 0 {
            let headerBytes = input.take(VirtioNetHeader.size)
            let room = input.byte()
            let packet = input.rest()
            guard let header = headerBytes.withUnsafeBytes({ VirtioNetHeader($0) }) else {
                check(headerBytes.count < VirtioNetHeader.size, "a 10-byte vnet header did not parse")
                return
            }
            var written = [UInt8](repeating: 0, count: VirtioNetHeader.size)
            written.withUnsafeMutableBytes { header.write(to: $0) }
            check(written == headerBytes, "the vnet header does not round-trip: \(hex(headerBytes)) → \(hex(written))")
            segmentAndCheck(packet, header: header, room: room)
            completeAndCheck(packet, header: header)
        } else {
            let flow = FuzzFlow(&input)
            let flags = input.byte()
            let mss = input.byte() < 200 ? input.int(in: 88...1_460) : input.int(in: 1...65_535)
            let maximum = 65_535 - flow.headersLength
            // Tiny MSS values make many segments: keep those payloads small (fast runs).
            let limit = mss < 88 ? min(maximum, 8_192) : maximum
            let scale = input.byte()
            let length = scale < 64 ? input.int(in: 0...64) : scale < 192 ? input.int(in: 0...min(limit, 4_096)) : input.int(in: 0...limit)
            var generator = SplitMix64(seed: input.u64())
            let payload = generator.bytes(length)
            let superPacket = flow.packet(flags: flags, payload: payload, checksum: .partial)
            let ecn = input.bool() ? VirtioNetHeader.gsoECN : 0
            let header = VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, gsoType: VirtioNetHeader.gsoTCPv4 | ecn,
                                         headerLength: UInt16(flow.headersLength), gsoSize: UInt16(mss),
                                         checksumStart: UInt16(flow.ipHeaderLength), checksumOffset: 16)
            let segments = segmentAndCheck(superPacket, header: header, room: input.byte() < 240 ? 0 : 230 + input.byte() % 26)
            check(segments?.count == max(1, (length + mss - 1) / mss), "a valid super-packet of \(length) bytes, MSS \(mss), gave \(String(describing: segments?.count)) segments")
            completeAndCheck(superPacket, header: header)
            var completed = superPacket
            _ = completed.withUnsafeMutableBytes { TCPSegmenter.completeChecksum($0, header: header) }
            check(tcpVerifies(completed), "the completed checksum of a built super-packet does not verify")
        }
    }

    /// The layout rules written out: (IP header length, headers length, total length) or nil.
    static func referenceLayout(_ packet: [UInt8]) -> (ip: Int, headers: Int, total: Int)? {
        guard packet.count >= 40, packet[0] >> 4 == 4, packet[9] == 6, word(packet, 6) & 0x3FFF == 0 else { return nil }
        let ip = Int(packet[0] & 0x0F) * 4, total = Int(word(packet, 2))
        guard ip >= 20, total <= packet.count, ip + 20 <= total else { return nil }
        let tcp = Int(packet[ip + 12] >> 4) * 4
        guard tcp >= 20, ip + tcp <= total else { return nil }
        return (ip, ip + tcp, total)
    }

    /// Segments `packet` into an exact-size buffer and checks everything; the segments.
    @discardableResult
    static func segmentAndCheck(_ packet: [UInt8], header: VirtioNetHeader, room: UInt8) -> [[UInt8]]? {
        let layout = referenceLayout(packet)
        let mss = Int(header.gsoSize)
        var needed = 0
        if let layout, mss > 0 {
            let payload = layout.total - layout.headers
            let count = max(1, (payload + mss - 1) / mss)
            needed = count * layout.headers + payload
        }
        // Exactly enough (usually), a byte short, or more; never more than 4 MB.
        var size = min(needed, 1 << 22)
        switch room {
        case 0..<200: break
        case 200..<230: size = max(0, size - 1)
        default: size += Int(room)
        }
        let (result, output) = packet.withUnsafeBytes { packetBytes in
            withExactBuffer(count: size) { buffer in
                (TCPSegmenter.segment(packetBytes, header: header, into: buffer), Array(buffer))
            }
        }
        guard header.isTCPv4Super, mss > 0 else {
            check(result == .failure(.unsupportedOffload), "gso type \(header.gsoType), size \(mss): \(result), not unsupportedOffload")
            return nil
        }
        guard let layout else {
            check(result == .failure(.malformed), "a packet the layout rules refuse gave \(result): \(hex(packet))")
            return nil
        }
        guard needed <= size else {
            check(result == .failure(.noRoom), "\(needed) bytes of segments in \(size) bytes gave \(result)")
            return nil
        }
        guard case let .success(segments) = result else { fuzzFailure("a valid super-packet was refused: \(result)") }
        let payload = layout.total - layout.headers
        let count = max(1, (payload + mss - 1) / mss)
        check(segments.count == count && segments.totalLength == needed
              && segments.segmentLength == layout.headers + min(mss, payload),
              "segments \(segments) for \(payload) bytes of payload, MSS \(mss), headers \(layout.headers)")
        check(output[needed...].allSatisfy { $0 == 0 }, "bytes written after the segments")
        var pieces: [[UInt8]] = []
        var joined: [UInt8] = []
        let tcp = layout.ip
        // What each segment rewrites: IP length, ID, checksum; TCP sequence, flags, checksum.
        let rewritten = [2, 3, 4, 5, 10, 11, tcp + 4, tcp + 5, tcp + 6, tcp + 7, tcp + 13, tcp + 16, tcp + 17]
        for index in 0..<count {
            let start = index * segments.segmentLength
            let length = index == count - 1 ? segments.lastLength : segments.segmentLength
            let segment = Array(output[start..<(start + length)])
            pieces.append(segment)
            let view = SegmentView(bytes: segment)
            check(view.totalLength == length, "segment \(index): total length \(view.totalLength) in \(length) bytes")
            check(view.ipID == word(packet, 4) &+ UInt16(truncatingIfNeeded: index), "segment \(index): IP ID")
            check(ipHeaderVerifies(segment), "segment \(index): the IP checksum does not verify")
            check(tcpVerifies(segment), "segment \(index) of \(count): the TCP checksum does not verify")
            check(view.sequence == address(packet, tcp + 4) &+ UInt32(truncatingIfNeeded: index * mss), "segment \(index): sequence")
            var flags = packet[tcp + 13]
            if index != count - 1 { flags &= ~0x09 }
            if index != 0 { flags &= ~0x80 }
            check(view.flags == flags, "segment \(index) of \(count): flags \(view.flags), expected \(flags)")
            check(sameBytes(segment[0..<layout.headers], packet[0..<layout.headers], except: rewritten),
                  "segment \(index): a header byte it should copy changed")
            check(view.payload.count == (index == count - 1 ? payload - index * mss : mss), "segment \(index): payload size")
            joined += segment[layout.headers...]
        }
        check(sameBytes(joined[...], packet[layout.headers..<layout.total]), "the segments' payloads are not the super-packet's")
        return pieces
    }

    static func completeAndCheck(_ packet: [UInt8], header: VirtioNetHeader) {
        let start = Int(header.checksumStart), field = start + Int(header.checksumOffset)
        let fits = field + 2 <= packet.count && start < packet.count
        let (accepted, completed) = withExactCopy(of: packet) { buffer in
            (TCPSegmenter.completeChecksum(buffer, header: header), Array(buffer))
        }
        check(accepted == fits, "completeChecksum(start \(start), offset \(header.checksumOffset)) on \(packet.count) bytes answered \(accepted)")
        guard accepted else {
            check(sameBytes(completed, packet), "a refused checksum completion changed the packet")
            return
        }
        check(sameBytes(completed, packet, except: [field, field + 1]), "checksum completion changed other bytes")
        // The field held the pseudo-header sum: with it, the completed range sums to all ones
        // (when the field sits on a 16-bit boundary of the range, as TCP's and UDP's do).
        if (field - start) % 2 == 0 {
            let pseudo = UInt32(word(packet, field))
            check(referenceSum(completed[start...], initial: pseudo) == 0xFFFF, "the completed checksum does not verify")
        }
    }
}
