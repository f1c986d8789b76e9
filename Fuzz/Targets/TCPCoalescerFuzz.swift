/// `tcp-coalescer`: `TCPCoalescer` (in-order segments from peers joined into one super-packet
/// for flannel0), driven exactly as the daemon drives it: append, else flush and start, else
/// write the segment alone.
///
/// Raw mode: up to 64 segments of raw fuzz bytes. Built mode: one flow's segments as a peer's
/// segmenter sends them (built here byte by byte, not by `TCPSegmenter`), then bent by the
/// input: reordered, dropped, duplicated, a byte flipped, flags or acknowledgement changed (with
/// the checksum fixed or not), DF cleared, another flow's segments mixed in. Checked:
/// - a packet the coalescer emits alone (one segment) is byte for byte the segment;
/// - a joined packet has a TCPv4 vnet header (checksum partial, `gsoSize` the first segment's
///   payload), a right IP length and checksum, and its TCP checksum, once completed as the
///   kernel does, verifies;
/// - cut again by `TCPSegmenter` with that header it gives exactly the segments that were
///   joined (IP ID and checksums aside), each of which had a verifying TCP checksum, DF set;
/// - `segments` and `segmentBytes` count what was joined; `finish` closes;
/// - built mode without bending: the number of packets written is what the joining rules give.
enum TCPCoalescerFuzz {
    static let ack: UInt8 = 0x10, psh: UInt8 = 0x08, fin: UInt8 = 0x01, cwr: UInt8 = 0x80, ece: UInt8 = 0x40

    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzReader(data)
        let mode = input.byte()
        if mode & 3 == 0 {
            var arrival: [[UInt8]] = []
            while !input.isEmpty && arrival.count < 64 { arrival.append(input.chunk()) }
            _ = coalesceAndCheck(arrival)
            return
        }
        let flow = FuzzFlow(&input)
        let mss = input.int(in: 1...1_460)
        let most = min(65_535 - flow.headersLength, mss * 64)
        let length = input.byte() < 192 ? input.int(in: 1...min(most, 8_192)) : input.int(in: 1...most)
        let choice = input.byte()
        // Mostly the flags a bulk transfer carries; sometimes anything.
        let flags: UInt8 = choice < 192 ? ack | [0, psh, ece, cwr, psh | ece, fin, psh | fin][Int(choice) % 7] : input.byte()
        var generator = SplitMix64(seed: input.u64())
        let payload = generator.bytes(length)
        var segments: [[UInt8]] = []
        var offset = 0, index = 0
        while offset < length {
            let size = min(mss, length - offset)
            let last = offset + size == length
            var segmentFlags = flags
            if !last { segmentFlags &= ~(fin | psh) }
            if index != 0 { segmentFlags &= ~cwr }
            segments.append(flow.packet(flags: segmentFlags, payload: Array(payload[offset..<(offset + size)]),
                                        sequenceOffset: UInt32(offset), ipID: flow.ipID &+ UInt16(truncatingIfNeeded: index)))
            offset += size
            index += 1
        }
        guard mode & 3 == 1 else {
            var bent = segments
            bend(&bent, &input, flow: flow)
            _ = coalesceAndCheck(bent)
            return
        }
        let written = coalesceAndCheck(segments)
        let expected = expectedPackets(segments.map { $0[flow.ipHeaderLength + 13] })
        check(written == expected, "\(segments.count) clean segments (flags \(flags), MSS \(mss)) made \(written) packets, the rules say \(expected)")
    }

    /// How many packets the joining rules make of one flow's in-order segments with these flags.
    static func expectedPackets(_ flags: [UInt8]) -> Int {
        var written = 0
        var open: UInt8?  // the open packet's flags (without PSH)
        var closed = false
        for segment in flags {
            if let group = open, !closed, segment & ~psh == group {
                closed = segment & psh != 0
                continue
            }
            if open != nil { written += 1 }
            if segment & ~(psh | ece) == ack {
                open = segment & ~psh
                closed = segment & psh != 0
            } else {
                open = nil
                written += 1
            }
        }
        return written + (open == nil ? 0 : 1)
    }

    static func refreshChecksum(_ packet: inout [UInt8]) {
        let ihl = Int(packet[0] & 0x0F) * 4
        guard ihl >= 20, ihl + 18 <= packet.count else { return }
        setWord(&packet, ihl + 16, 0)
        let pseudo = referencePseudoSum(source: address(packet, 12), destination: address(packet, 16), proto: 6, length: packet.count - ihl)
        setWord(&packet, ihl + 16, ~UInt16(truncatingIfNeeded: referenceSum(packet[ihl...], initial: pseudo)))
    }

    static func bend(_ segments: inout [[UInt8]], _ input: inout FuzzReader, flow: FuzzFlow) {
        for _ in 0..<input.int(in: 1...8) where !segments.isEmpty {
            let operation = input.byte() % 9
            let at = input.int(in: 0...(segments.count - 1))
            // Header surgery needs the headers (an earlier step may have cut the segment short).
            let whole = segments[at].count >= flow.headersLength
            switch operation {
            case 0: segments.swapAt(at, input.int(in: 0...(segments.count - 1)))
            case 1: segments.remove(at: at)
            case 2 where segments.count < 128: segments.insert(segments[at], at: input.int(in: 0...segments.count))
            case 3 where !segments[at].isEmpty:
                let position = input.int(in: 0...(segments[at].count - 1))
                segments[at][position] ^= max(1, input.byte())
                if input.bool() && whole { refreshChecksum(&segments[at]) }
            case 4 where whole:
                segments[at][flow.ipHeaderLength + 13] = input.byte()
                refreshChecksum(&segments[at])
            case 5 where whole:
                segments[at][flow.ipHeaderLength + 11] ^= max(1, input.byte())
                refreshChecksum(&segments[at])
            case 6 where whole:
                segments[at][6] &= ~0x40
                setWord(&segments[at], 10, 0)
                setWord(&segments[at], 10, ~UInt16(truncatingIfNeeded: referenceSum(segments[at][0..<flow.ipHeaderLength])))
            case 7:
                var other = FuzzReader(UnsafeRawBufferPointer(start: nil, count: 0))
                var stranger = FuzzFlow(&other)
                stranger.source = flow.source; stranger.destination = flow.destination
                stranger.sourcePort = flow.sourcePort &+ 1
                stranger.options = flow.options
                let size = input.int(in: 1...1_460)
                segments.insert(stranger.packet(flags: ack, payload: [UInt8](repeating: 7, count: size)), at: at)
            default:
                // A segment cut short or padded: the IP length no longer matches the bytes.
                if input.bool() { segments[at].removeLast(min(segments[at].count, input.int(in: 1...8))) } else { segments[at] += [0, 0] }
            }
        }
    }

    /// The daemon's loop over `arrival`, every packet checked; how many packets it wrote.
    static func coalesceAndCheck(_ arrival: [[UInt8]]) -> Int {
        var coalescer = TCPCoalescer()
        var written = 0
        withExactBuffer(count: TCPCoalescer.packetOffset + 65_536) { buffer in
            var group: [[UInt8]] = []
            func flush(_ coalescer: inout TCPCoalescer) {
                guard coalescer.isOpen else {
                    check(group.isEmpty, "the coalescer closed with segments in hand")
                    return
                }
                check(coalescer.segments == group.count, "segments \(coalescer.segments), joined \(group.count)")
                check(coalescer.segmentBytes == group.reduce(0) { $0 + $1.count }, "segmentBytes \(coalescer.segmentBytes)")
                let length = coalescer.finish(buffer: buffer)
                check(!coalescer.isOpen && length > TCPCoalescer.packetOffset && length <= buffer.count, "finish gave \(length)")
                let header = VirtioNetHeader(UnsafeRawBufferPointer(rebasing: buffer[0..<VirtioNetHeader.size]))!
                checkJoined(header, Array(buffer[TCPCoalescer.packetOffset..<length]), group)
                written += 1
                group = []
            }
            for packet in arrival {
                withExactCopy(of: packet) { bytes in
                    let segment = UnsafeRawBufferPointer(bytes)
                    if coalescer.append(segment, buffer: buffer) {
                        group.append(packet)
                        return
                    }
                    flush(&coalescer)
                    if coalescer.start(segment, buffer: buffer) {
                        group = [packet]
                    } else {
                        check(!coalescer.isOpen, "a refused start left a packet open")
                        written += 1
                    }
                    check(sameBytes(Array(bytes), packet), "the coalescer wrote into a segment it was given")
                }
            }
            flush(&coalescer)
        }
        return written
    }

    static func checkJoined(_ header: VirtioNetHeader, _ packet: [UInt8], _ group: [[UInt8]]) {
        for (index, segment) in group.enumerated() {
            check(TCPSegmenterFuzz.referenceLayout(segment) != nil && Int(word(segment, 2)) == segment.count,
                  "joined segment \(index) is no whole TCP packet")
            check(tcpVerifies(segment), "joined segment \(index) of \(group.count) has a TCP checksum that does not verify")
        }
        guard group.count > 1 else {
            check(header == .plain && sameBytes(packet, group[0]), "a lone segment was not written as it came")
            return
        }
        let first = SegmentView(bytes: group[0])
        check(group[0][6] & 0x40 != 0, "joined segments without DF")
        check(header.flags == VirtioNetHeader.needsChecksum && header.gsoType == VirtioNetHeader.gsoTCPv4
              && Int(header.headerLength) == first.headersLength && Int(header.gsoSize) == first.payload.count
              && Int(header.checksumStart) == first.ipHeaderLength && header.checksumOffset == 16,
              "vnet header \(header) for segments of \(first.payload.count) bytes after \(first.headersLength) of headers")
        check(packet.count == first.headersLength + group.reduce(0) { $0 + SegmentView(bytes: $1).payload.count },
              "the joined packet is \(packet.count) bytes")
        check(Int(word(packet, 2)) == packet.count && ipHeaderVerifies(packet), "the joined packet's IP length or checksum is wrong")
        var completed = packet
        let fits = completed.withUnsafeMutableBytes { TCPSegmenter.completeChecksum($0, header: header) }
        check(fits && tcpVerifies(completed), "the joined packet's TCP checksum, completed, does not verify")
        guard let pieces = TCPSegmenterFuzz.segmentAndCheck(packet, header: header, room: 0) else {
            fuzzFailure("the joined packet could not be cut again")
        }
        check(pieces.count == group.count, "\(group.count) segments joined, \(pieces.count) cut again")
        for (index, (piece, segment)) in zip(pieces, group).enumerated() {
            let view = SegmentView(bytes: segment)
            check(sameBytes(piece, segment, except: [4, 5, 10, 11, view.ipHeaderLength + 16, view.ipHeaderLength + 17]),
                  "segment \(index) of \(group.count) cut again differs: \(hex(segment, limit: 60)) → \(hex(piece, limit: 60))")
        }
    }
}
