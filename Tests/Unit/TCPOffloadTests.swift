import Agent
import Sim
import Testing

/// The udp fast path's packet surgery (`TCPSegmenter`, `TCPCoalescer`, the checksum), over
/// random flows, sizes and MSS values: cutting a TSO super-packet gives segments that each
/// verify and together carry the byte stream and flags; joining them back and cutting again
/// gives the very same bytes.
@Suite("TCP segmentation and coalescing (udp fast path)")
struct TCPOffloadTests {
    struct Flow {
        var source: IPv4Address, destination: IPv4Address
        var sourcePort: UInt16, destinationPort: UInt16
        var sequence: UInt32, acknowledgement: UInt32
        var options: [UInt8]
        var tos: UInt8
        var ipID: UInt16
    }

    static func randomFlow(_ random: inout SeededGenerator) -> Flow {
        let optionWords = Int.random(in: 0...3, using: &random)
        var options: [UInt8] = []
        for _ in 0..<optionWords { options += [1, 1, 8, 2] } // NOP NOP + a 2-byte filler kind
        if optionWords == 3 { options = [1, 1, 8, 10] + (0..<8).map { _ in UInt8.random(in: 0...255, using: &random) } } // timestamps
        return Flow(source: IPv4Address(bits: 0x0A01_0000 | UInt32.random(in: 1...0xFFFE, using: &random)),
                    destination: IPv4Address(bits: 0x0A01_0000 | UInt32.random(in: 1...0xFFFE, using: &random)),
                    sourcePort: .random(in: 1...65535, using: &random), destinationPort: .random(in: 1...65535, using: &random),
                    sequence: .random(in: 0...UInt32.max, using: &random), acknowledgement: .random(in: 0...UInt32.max, using: &random),
                    options: options, tos: [0, 0x10, 0x02].randomElement(using: &random)!, ipID: .random(in: 0...UInt16.max, using: &random))
    }

    /// An IPv4 TCP packet as the kernel hands it to a TUN with TSO: lengths and IP checksum
    /// right, the TCP checksum field holding only the pseudo-header sum.
    static func packet(_ flow: Flow, flags: UInt8, payload: [UInt8], checksumComplete: Bool = false) -> [UInt8] {
        let tcpLength = 20 + flow.options.count
        let total = 20 + tcpLength + payload.count
        var bytes = [UInt8](repeating: 0, count: total)
        func set(_ offset: Int, _ value: UInt16) { bytes[offset] = UInt8(value >> 8); bytes[offset + 1] = UInt8(truncatingIfNeeded: value) }
        bytes[0] = 0x45
        bytes[1] = flow.tos
        set(2, UInt16(total))
        set(4, flow.ipID)
        set(6, 0x4000) // DF
        bytes[8] = 63
        bytes[9] = 6
        set(12, UInt16(flow.source.bits >> 16)); set(14, UInt16(truncatingIfNeeded: flow.source.bits))
        set(16, UInt16(flow.destination.bits >> 16)); set(18, UInt16(truncatingIfNeeded: flow.destination.bits))
        let ipChecksum = bytes.withUnsafeBytes { InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<20])) }
        set(10, ipChecksum)
        set(20, flow.sourcePort); set(22, flow.destinationPort)
        set(24, UInt16(flow.sequence >> 16)); set(26, UInt16(truncatingIfNeeded: flow.sequence))
        set(28, UInt16(flow.acknowledgement >> 16)); set(30, UInt16(truncatingIfNeeded: flow.acknowledgement))
        bytes[32] = UInt8(tcpLength / 4) << 4
        bytes[33] = flags
        set(34, 502)
        bytes.replaceSubrange(40..<(40 + flow.options.count), with: flow.options)
        bytes.replaceSubrange((20 + tcpLength)..., with: payload)
        let pseudo = InternetChecksum.pseudoHeaderSum(source: flow.source, destination: flow.destination, proto: 6, length: tcpLength + payload.count)
        if checksumComplete {
            let sum = bytes.withUnsafeBytes { InternetChecksum.sum(UnsafeRawBufferPointer(rebasing: $0[20...]), initial: pseudo) }
            set(36, ~UInt16(truncatingIfNeeded: sum))
        } else {
            set(36, UInt16(truncatingIfNeeded: pseudo))
        }
        return bytes
    }

    static func tcpVerifies(_ packet: [UInt8]) -> Bool {
        packet.withUnsafeBytes { bytes in
            let layoutSource = IPv4Address(bits: UInt32(bytes[12]) << 24 | UInt32(bytes[13]) << 16 | UInt32(bytes[14]) << 8 | UInt32(bytes[15]))
            let layoutDestination = IPv4Address(bits: UInt32(bytes[16]) << 24 | UInt32(bytes[17]) << 16 | UInt32(bytes[18]) << 8 | UInt32(bytes[19]))
            let pseudo = InternetChecksum.pseudoHeaderSum(source: layoutSource, destination: layoutDestination, proto: 6, length: packet.count - 20)
            return InternetChecksum.sum(UnsafeRawBufferPointer(rebasing: bytes[20...]), initial: pseudo) == 0xFFFF
                && InternetChecksum.verifies(UnsafeRawBufferPointer(rebasing: bytes[0..<20]))
        }
    }

    /// Recomputes a segment's TCP checksum after a test edited it.
    static func refreshChecksum(_ packet: inout [UInt8]) {
        packet[36] = 0; packet[37] = 0
        let source = IPv4Address(bits: word(packet, 12) << 16 | word(packet, 14))
        let destination = IPv4Address(bits: word(packet, 16) << 16 | word(packet, 18))
        let pseudo = InternetChecksum.pseudoHeaderSum(source: source, destination: destination, proto: 6, length: packet.count - 20)
        let sum = packet.withUnsafeBytes { InternetChecksum.sum(UnsafeRawBufferPointer(rebasing: $0[20...]), initial: pseudo) }
        let checksum = ~UInt16(truncatingIfNeeded: sum)
        packet[36] = UInt8(checksum >> 8); packet[37] = UInt8(checksum & 0xFF)
    }

    static func word(_ bytes: [UInt8], _ offset: Int) -> UInt32 { UInt32(bytes[offset]) << 8 | UInt32(bytes[offset + 1]) }
    static func sequence(_ bytes: [UInt8]) -> UInt32 { word(bytes, 24) << 16 | word(bytes, 26) }
    static func payload(_ bytes: [UInt8]) -> ArraySlice<UInt8> { bytes[(20 + Int(bytes[32] >> 4) * 4)...] }

    /// Cuts with the segmenter; the segments as arrays.
    static func segment(_ packet: [UInt8], mss: Int) throws -> [[UInt8]] {
        let header = VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, gsoType: VirtioNetHeader.gsoTCPv4,
                                     headerLength: UInt16(packet.count - payload(packet).count), gsoSize: UInt16(mss),
                                     checksumStart: 20, checksumOffset: 16)
        var output = [UInt8](repeating: 0, count: packet.count + (packet.count / mss + 1) * 80)
        let segments = try packet.withUnsafeBytes { input in
            try output.withUnsafeMutableBytes { try TCPSegmenter.segment(input, header: header, into: $0).get() }
        }
        return (0..<segments.count).map { index in
            let start = index * segments.segmentLength
            return Array(output[start..<(start + (index == segments.count - 1 ? segments.lastLength : segments.segmentLength))])
        }
    }

    /// Runs the coalescer over `packets` in order; each output as (vnet header, packet).
    static func coalesce(_ packets: [[UInt8]]) -> [(VirtioNetHeader, [UInt8])] {
        var coalescer = TCPCoalescer()
        var buffer = [UInt8](repeating: 0, count: 65_535 + VirtioNetHeader.size)
        var out: [(VirtioNetHeader, [UInt8])] = []
        buffer.withUnsafeMutableBytes { buffer in
            func flush() {
                let length = coalescer.finish(buffer: buffer)
                guard length > 0 else { return }
                out.append((VirtioNetHeader(UnsafeRawBufferPointer(buffer))!, Array(buffer[VirtioNetHeader.size..<length])))
            }
            for packet in packets {
                packet.withUnsafeBytes { packet in
                    if coalescer.append(packet, buffer: buffer) { return }
                    flush()
                    if !coalescer.start(packet, buffer: buffer) {
                        out.append((.plain, Array(packet)))
                    }
                }
            }
            flush()
        }
        return out
    }

    @Test func segmentsVerifyAndCarryTheStreamAndFlagsAcrossRandomFlows() throws {
        var random = SeededGenerator(seed: 8)
        for _ in 0..<300 {
            let flow = Self.randomFlow(&random)
            let mss = Int.random(in: 88...1460, using: &random)
            let length = Int.random(in: 1...(65_535 - 40 - flow.options.count), using: &random)
            let payload = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            var flags: UInt8 = 0x10
            for extra: UInt8 in [0x08, 0x01, 0x80, 0x40] where Bool.random(using: &random) { flags |= extra }
            let superPacket = Self.packet(flow, flags: flags, payload: payload)
            let segments = try Self.segment(superPacket, mss: mss)

            #expect(segments.count == (length + mss - 1) / mss)
            #expect(segments.allSatisfy(Self.tcpVerifies), "every IP and TCP checksum verifies (mss \(mss), \(length) bytes)")
            #expect(Array(segments.map(Self.payload).joined()) == payload, "the byte stream is kept")
            for (index, segment) in segments.enumerated() {
                let last = index == segments.count - 1
                #expect(Self.payload(segment).count == (last ? length - index * mss : mss))
                #expect(Int(Self.word(segment, 2)) == segment.count)
                #expect(Self.word(segment, 4) == UInt32(flow.ipID &+ UInt16(truncatingIfNeeded: index)))
                #expect(Self.sequence(segment) == flow.sequence &+ UInt32(index * mss))
                var expected = flags
                if !last { expected &= ~(0x08 | 0x01) }
                if index != 0 { expected &= ~0x80 }
                #expect(segment[33] == expected, "flags of segment \(index) of \(segments.count)")
                #expect(segment[0..<2] == superPacket[0..<2] && segment[6..<10] == superPacket[6..<10] && segment[12..<20] == superPacket[12..<20])
            }
        }
    }

    @Test func coalescingSegmentsAndCuttingAgainGivesTheSameBytes() throws {
        var random = SeededGenerator(seed: 9)
        for _ in 0..<200 {
            let flow = Self.randomFlow(&random)
            let mss = Int.random(in: 88...1460, using: &random)
            let length = Int.random(in: 1...(65_535 - 40 - flow.options.count), using: &random)
            let payload = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            var flags: UInt8 = 0x10
            for extra: UInt8 in [0x08, 0x80] where Bool.random(using: &random) { flags |= extra }
            let segments = try Self.segment(Self.packet(flow, flags: flags, payload: payload), mss: mss)
            let joined = Self.coalesce(segments)
            // CWR stays alone, as the kernel's GRO leaves it: the rest joins.
            let expected = flags & 0x80 != 0 && segments.count > 1 ? 2 : 1
            #expect(joined.count == expected, "one flow in order joins into \(expected) packet(s) (\(segments.count) segments)")
            var again: [[UInt8]] = []
            for (header, packet) in joined {
                if header.isTCPv4Super {
                    #expect(header.gsoSize == UInt16(min(mss, length)) && header.needsChecksumCompletion && header.checksumStart == 20)
                    // What the kernel does with it: complete the checksum, and it verifies.
                    var completed = packet
                    #expect(completed.withUnsafeMutableBytes { TCPSegmenter.completeChecksum($0, header: header) })
                    #expect(Self.tcpVerifies(completed), "the joined packet's checksum, completed, verifies")
                    again += try Self.segment(packet, mss: Int(header.gsoSize))
                } else {
                    again.append(packet)
                }
            }
            #expect(again == segments, "cut again, the joined packet gives the same segments")
        }
    }

    @Test func interleavedFlowsEachKeepTheirStream() throws {
        var random = SeededGenerator(seed: 10)
        for _ in 0..<100 {
            let flows = [Self.randomFlow(&random), Self.randomFlow(&random)]
            let mss = Int.random(in: 500...1460, using: &random)
            let payloads = flows.map { _ in (0..<Int.random(in: 1...20_000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) } }
            var queues = try zip(flows, payloads).map { try Self.segment(Self.packet($0, flags: 0x18, payload: $1), mss: mss) }
            var arrival: [[UInt8]] = []
            while queues.contains(where: { !$0.isEmpty }) {
                let pick = queues[0].isEmpty ? 1 : queues[1].isEmpty ? 0 : Int.random(in: 0...1, using: &random)
                // Runs of a few segments, as a peer's batch would carry them.
                for _ in 0..<Int.random(in: 1...6, using: &random) where !queues[pick].isEmpty { arrival.append(queues[pick].removeFirst()) }
            }
            for (flow, payload) in zip(flows, payloads) {
                var stream: [UInt8] = []
                for (header, packet) in Self.coalesce(arrival) where Self.word(packet, 20) == UInt32(flow.sourcePort) && packet[12..<20] == Self.packet(flow, flags: 0x10, payload: [0])[12..<20] {
                    let pieces = header.isTCPv4Super ? try Self.segment(packet, mss: Int(header.gsoSize)) : [packet]
                    stream += pieces.flatMap(Self.payload)
                }
                #expect(stream == payload, "each flow's bytes, in order")
            }
        }
    }

    @Test func segmentsThatDoNotContinueThePacketAreNotJoined() throws {
        var random = SeededGenerator(seed: 11)
        let flow = Self.randomFlow(&random)
        let data = [UInt8](repeating: 7, count: 3000)
        let segments = try Self.segment(Self.packet(flow, flags: 0x10, payload: data), mss: 1000)
        #expect(Self.coalesce([segments[0], segments[2]]).count == 2, "a gap in the sequence")
        var otherAck = segments[1]
        otherAck[31] ^= 1
        Self.refreshChecksum(&otherAck)
        #expect(Self.coalesce([segments[0], otherAck]).count == 2, "another acknowledgement number")
        var corrupted = segments[1]
        corrupted[corrupted.count - 1] ^= 0xFF
        #expect(Self.coalesce([segments[0], corrupted]).map(\.0.isTCPv4Super) == [false, false],
                "a segment whose checksum fails is written alone, for the kernel to drop")
        var noDF = try Self.segment(Self.packet(flow, flags: 0x10, payload: data), mss: 1000)
        for index in noDF.indices {
            noDF[index][6] = 0
            noDF[index][10] = 0; noDF[index][11] = 0
            let sum = noDF[index].withUnsafeBytes { InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<20])) }
            noDF[index][10] = UInt8(sum >> 8); noDF[index][11] = UInt8(sum & 0xFF)
        }
        #expect(Self.coalesce(noDF).count == 3, "without DF the IP IDs matter: not joined")
        let ece = try Self.segment(Self.packet(flow, flags: 0x50, payload: data), mss: 1000)
        #expect(Self.coalesce(ece).count == 1, "ECE on every segment joins")
        var mixed = ece
        mixed[1][33] = 0x10
        Self.refreshChecksum(&mixed[1])
        #expect(Self.coalesce(mixed).count == 3, "ECE then a plain ACK does not join (nor what follows it)")
        #expect(Self.coalesce([segments[2], segments[0]]).count == 2, "out of order")
        let fin = try Self.segment(Self.packet(flow, flags: 0x11, payload: data), mss: 1000)
        #expect(Self.coalesce(fin).count == 2, "a FIN segment stays alone")
        let syn = Self.packet(flow, flags: 0x02, payload: [], checksumComplete: true)
        #expect(Self.coalesce([syn]).map(\.0) == [.plain], "a SYN is written as it came")
    }

    @Test func aPartialChecksumIsCompletedForAPacketNotToBeCut() {
        var random = SeededGenerator(seed: 12)
        let flow = Self.randomFlow(&random)
        var packet = Self.packet(flow, flags: 0x18, payload: (0..<777).map { UInt8(truncatingIfNeeded: $0) })
        #expect(!Self.tcpVerifies(packet))
        let header = VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, checksumStart: 20, checksumOffset: 16)
        #expect(packet.withUnsafeMutableBytes { TCPSegmenter.completeChecksum($0, header: header) })
        #expect(Self.tcpVerifies(packet))
        let wild = VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, checksumStart: 2000, checksumOffset: 16)
        #expect(!packet.withUnsafeMutableBytes { TCPSegmenter.completeChecksum($0, header: wild) }, "offsets beyond the packet are refused")
    }

    @Test func theVnetHeaderRoundTrips() {
        let header = VirtioNetHeader(flags: 1, gsoType: VirtioNetHeader.gsoTCPv4, headerLength: 52, gsoSize: 1448, checksumStart: 20, checksumOffset: 16)
        var bytes = [UInt8](repeating: 0, count: 10)
        bytes.withUnsafeMutableBytes { header.write(to: $0) }
        #expect(bytes == [1, 1, 52, 0, 0xA8, 0x05, 20, 0, 16, 0])
        #expect(bytes.withUnsafeBytes { VirtioNetHeader($0) } == header)
    }

    /// The word-at-a-time sum against the byte-at-a-time definition.
    @Test func theFastChecksumMatchesTheDefinition() {
        var random = SeededGenerator(seed: 13)
        for _ in 0..<500 {
            let bytes = (0..<Int.random(in: 0...3000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let initial = UInt32.random(in: 0...0xFFFF, using: &random)
            var reference = initial
            var index = 0
            while index + 1 < bytes.count { reference += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1]); index += 2 }
            if index < bytes.count { reference += UInt32(bytes[index]) << 8 }
            while reference >> 16 != 0 { reference = (reference & 0xFFFF) + (reference >> 16) }
            #expect(bytes.withUnsafeBytes { InternetChecksum.sum($0, initial: initial) } == reference, "\(bytes.count) bytes")
        }
    }

    /// The sum taken while copying equals the plain sum and the copy is exact, whatever the
    /// length and alignment, all-ones bytes (the most carries) included.
    @Test func theCopyingChecksumCopiesAndSumsAlike() {
        var random = SeededGenerator(seed: 17)
        for round in 0..<400 {
            let count = Int.random(in: 0...3000, using: &random)
            let bytes = round % 4 == 0 ? [UInt8](repeating: 0xFF, count: count) : (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            let initial = UInt32.random(in: 0...0xFFFF, using: &random)
            let shift = Int.random(in: 0...7, using: &random)
            var copy = [UInt8](repeating: 0xA5, count: count + shift + 8)
            let copied = bytes.withUnsafeBytes { source in
                copy.withUnsafeMutableBytes { InternetChecksum.copyingSum(source, to: $0.baseAddress! + shift, initial: initial) }
            }
            #expect(copied == bytes.withUnsafeBytes { InternetChecksum.sum($0, initial: initial) }, "\(count) bytes")
            #expect(Array(copy[shift..<(shift + count)]) == bytes, "\(count) bytes at +\(shift)")
            #expect(copy[0..<shift].allSatisfy { $0 == 0xA5 } && copy[(shift + count)...].allSatisfy { $0 == 0xA5 }, "nothing written outside")
        }
    }
}
