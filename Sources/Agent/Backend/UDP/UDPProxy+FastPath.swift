import CLinuxShims
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The fast path (`--udp-offload=auto`): the same per-packet decisions (`UDPEncapsulation`)
/// and the same wire format (one inner IPv4 packet per datagram), with fewer system calls.
/// Out: the TUN hands 64 KB TCP super-packets, cut here (`TCPSegmenter`) and sent with one
/// `UDP_SEGMENT` call per ≤ 64 KB. In: `UDP_GRO` hands a sender's datagrams joined, they are
/// split, checked one by one, and in-order segments of a flow are joined (`TCPCoalescer`) into
/// one TSO write to the TUN; datagrams arrive 16 messages per recvmmsg. Buffers are allocated
/// once per thread; nothing per packet.
extension UDPProxy {
    /// Room for a vnet header before each packet read from or written to the TUN.
    var headerRoom: Int { offloads.vnetHeader ? VirtioNetHeader.size : 0 }

    func runOutboundFast() {
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: VirtioNetHeader.size + 65_536, alignment: 16)
        // A super-packet's segments, each with its own headers: at most 64 KB of payload in
        // segments of at least 1 byte past headers of at most 120 bytes.
        let segments = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 * 65_536, alignment: 16)
        let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: VirtioNetHeader.size + 128, alignment: 16)
        reply.initializeMemory(as: UInt8.self, repeating: 0)
        var tally = Tally()
        defer {
            publish(&tally)
            input.deallocate()
            segments.deallocate()
            reply.deallocate()
        }
        let room = headerRoom
        // Drained in a loop after each poll: reads must not block.
        _ = fcntl(tun.fd, F_SETFL, fcntl(tun.fd, F_GETFL) | O_NONBLOCK)
        while wait(tun.fd, tun.name, &tally) {
            // Drain what is queued before polling again.
            while !stopping.load(ordering: .relaxed) {
                let length = read(tun.fd, input.baseAddress, input.count)
                if length < 0 {
                    if errno == EAGAIN { break }
                    if readFailed(tun.name) { return }
                    continue
                }
                guard length > room else { continue }
                let header = room > 0 ? VirtioNetHeader(UnsafeRawBufferPointer(rebasing: input[0..<room])) ?? .plain : .plain
                let packet = UnsafeMutableRawBufferPointer(rebasing: input[room..<length])
                let current = path.withLock { $0 }
                switch UDPEncapsulation.outbound(packet, routes: current.routes, tunAddress: current.tunAddress,
                                                 reply: UnsafeMutableRawBufferPointer(rebasing: reply[room...])) {
                case let .send(peer):
                    if header.isTCPv4Super {
                        switch TCPSegmenter.segment(UnsafeRawBufferPointer(packet), header: header, into: segments) {
                        case let .success(cut): sendSegments(segments, cut, to: peer, &tally)
                        case .failure: record(&tally) { $0.drops[.malformed, default: 0] += 1 }
                        }
                        continue
                    }
                    if header.needsChecksumCompletion && !TCPSegmenter.completeChecksum(packet, header: header) {
                        record(&tally) { $0.drops[.malformed, default: 0] += 1 }
                        continue
                    }
                    let sent = flannel_udp_send_segments(socket.fd, packet.baseAddress, UInt(packet.count), peer.bits.bigEndian,
                                                         UInt16(port).bigEndian, 0)
                    if sent == packet.count {
                        record(&tally) { $0.packetsOut += 1; $0.bytesOut += packet.count }
                    } else {
                        record(&tally) { $0.drops[.sendFailed, default: 0] += 1 }
                    }
                case let .reply(replyLength):
                    // The reply buffer starts with a zeroed (plain) vnet header when there is one.
                    if write(tun.fd, reply.baseAddress, room + replyLength) == room + replyLength {
                        record(&tally) { $0.icmpReplies += 1 }
                    } else {
                        record(&tally) { $0.drops[.tunWriteFailed, default: 0] += 1 }
                    }
                case let .drop(reason):
                    record(&tally) { $0.drops[reason, default: 0] += 1 }
                }
            }
        }
    }

    /// Sends the cut segments: with UDP_SEGMENT as few calls as the 64 KB datagram limit
    /// allows, else one send each.
    private func sendSegments(_ buffer: UnsafeMutableRawBufferPointer, _ cut: TCPSegmenter.Segments, to peer: IPv4Address,
                              _ tally: inout Tally) {
        let perCall = offloads.udpSegment ? max(1, min(64, 65_000 / cut.segmentLength)) : 1
        var index = 0
        while index < cut.count {
            let count = min(perCall, cut.count - index)
            let start = index * cut.segmentLength
            let bytes = (count - 1) * cut.segmentLength + (index + count == cut.count ? cut.lastLength : cut.segmentLength)
            let sent = flannel_udp_send_segments(socket.fd, buffer.baseAddress! + start, UInt(bytes), peer.bits.bigEndian,
                                                 UInt16(port).bigEndian, count > 1 ? UInt16(cut.segmentLength) : 0)
            if sent == bytes {
                record(&tally) { $0.packetsOut += count; $0.bytesOut += bytes }
            } else {
                record(&tally) { $0.drops[.sendFailed, default: 0] += count }
            }
            index += count
        }
    }

    /// Messages per recvmmsg, and room for each: a UDP_GRO message is at most 64 KB.
    static let batch = 16
    static let messageRoom = 65_536

    func runInboundFast() {
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.batch * Self.messageRoom, alignment: 16)
        let lengths = UnsafeMutablePointer<Int32>.allocate(capacity: Self.batch)
        let senders = UnsafeMutablePointer<UInt32>.allocate(capacity: Self.batch)
        let segmentSizes = UnsafeMutablePointer<Int32>.allocate(capacity: Self.batch)
        let joined = UnsafeMutableRawBufferPointer.allocate(byteCount: TCPCoalescer.packetOffset + 65_536, alignment: 16)
        let plainHeader = UnsafeMutableRawBufferPointer.allocate(byteCount: VirtioNetHeader.size, alignment: 16)
        plainHeader.initializeMemory(as: UInt8.self, repeating: 0)
        var tally = Tally()
        var coalescer = TCPCoalescer()
        defer {
            publish(&tally)
            input.deallocate()
            lengths.deallocate()
            senders.deallocate()
            segmentSizes.deallocate()
            joined.deallocate()
            plainHeader.deallocate()
        }
        let room = headerRoom
        let joins = offloads.vnetHeader && offloads.udpGRO
        func flush(_ tally: inout Tally) {
            let segments = coalescer.segments
            let length = coalescer.finish(buffer: joined)
            guard length > 0 else { return }
            if write(tun.fd, joined.baseAddress, length) == length {
                record(&tally) { $0.packetsIn += segments; $0.bytesIn += length - TCPCoalescer.packetOffset }
            } else {
                record(&tally) { $0.drops[.tunWriteFailed, default: 0] += segments }
            }
        }
        func deliverAlone(_ packet: UnsafeMutableRawBufferPointer, _ tally: inout Tally) {
            let written = room > 0
                ? flannel_write_two(tun.fd, plainHeader.baseAddress, UInt(room), packet.baseAddress, UInt(packet.count))
                : write(tun.fd, packet.baseAddress, packet.count)
            if written == room + packet.count {
                record(&tally) { $0.packetsIn += 1; $0.bytesIn += packet.count }
            } else {
                record(&tally) { $0.drops[.tunWriteFailed, default: 0] += 1 }
            }
        }
        while wait(socket.fd, "the UDP socket", &tally) {
            while !stopping.load(ordering: .relaxed) {
                let count = flannel_udp_receive_batch(socket.fd, input.baseAddress, UInt(Self.messageRoom), Int32(Self.batch),
                                                      lengths, senders, segmentSizes)
                if count < 0 {
                    if -count == EAGAIN || -count == EINTR { break }
                    errno = -count
                    if readFailed("the UDP socket") { return }
                    continue
                }
                guard count > 0 else { break }
                let routes = path.withLock { $0.routes }
                for message in 0..<Int(count) {
                    let base = message * Self.messageRoom
                    let length = Int(lengths[message])
                    let from = IPv4Address(bits: UInt32(bigEndian: senders[message]))
                    let step = segmentSizes[message] > 0 ? Int(segmentSizes[message]) : max(length, 1)
                    var offset = 0
                    while offset < length {
                        let packet = UnsafeMutableRawBufferPointer(rebasing: input[(base + offset)..<(base + min(offset + step, length))])
                        offset += step
                        switch UDPEncapsulation.inbound(packet, from: from, routes: routes, mtu: mtu) {
                        case .deliver:
                            guard joins else {
                                deliverAlone(packet, &tally)
                                continue
                            }
                            if coalescer.append(UnsafeRawBufferPointer(packet), buffer: joined) { continue }
                            flush(&tally)
                            if !coalescer.start(UnsafeRawBufferPointer(packet), buffer: joined) { deliverAlone(packet, &tally) }
                        case let .drop(reason):
                            record(&tally) { $0.drops[reason, default: 0] += 1 }
                        }
                    }
                }
                // A short batch: the queue is empty for now.
                if Int(count) < Self.batch { break }
            }
            // Nothing more queued: nothing is held back.
            flush(&tally)
        }
        flush(&tally)
    }
}
