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

    /// What one thread needs to read the TUN and send what it read, allocated once.
    struct OutboundBuffers {
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: VirtioNetHeader.size + 65_536, alignment: 16)
        /// A super-packet's segments, each with its own headers: 64 KB of payload plus up to
        /// 120 bytes of headers per segment holds down to an MSS of 18 (the kernel's floor is 48).
        let segments = UnsafeMutableRawBufferPointer.allocate(byteCount: 8 * 65_536, alignment: 16)
        let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: VirtioNetHeader.size + 128, alignment: 16)

        init() { reply.initializeMemory(as: UInt8.self, repeating: 0) }

        func deallocate() {
            input.deallocate()
            segments.deallocate()
            reply.deallocate()
        }
    }

    func runOutboundFast() {
        let buffers = OutboundBuffers()
        var tally = Tally()
        defer {
            publish(&tally)
            buffers.deallocate()
        }
        while wait(tun.fd, tun.name, &tally) {
            guard tunReader.withLock({ _ in drainTUN(buffers, &tally) }) else { return }
        }
    }

    /// Reads the TUN until it is empty, sending what it reads; false when the TUN failed. Only
    /// the holder of `tunReader` reads, so one flow's packets leave in the order they came.
    func drainTUN(_ buffers: OutboundBuffers, _ tally: inout Tally) -> Bool {
        let (input, segments, reply) = (buffers.input, buffers.segments, buffers.reply)
        let room = headerRoom
        // Once per drain, not per packet: a peer change is seen by the next drain.
        let current = path.withLock { $0 }
        while !stopping.load(ordering: .relaxed) {
            let length = read(tun.fd, input.baseAddress, input.count)
            if length < 0 {
                if errno == EAGAIN { return true }
                if readFailed(tun.name) { return false }
                continue
            }
            guard length > room else { continue }
            let header = room > 0 ? VirtioNetHeader(UnsafeRawBufferPointer(rebasing: input[0..<room])) ?? .plain : .plain
            let packet = UnsafeMutableRawBufferPointer(rebasing: input[room..<length])
            switch UDPEncapsulation.outbound(packet, routes: current.routes, tunAddress: current.tunAddress,
                                             reply: UnsafeMutableRawBufferPointer(rebasing: reply[room...])) {
            case let .send(peer):
                if header.gsoType != VirtioNetHeader.gsoNone {
                    switch TCPSegmenter.segment(UnsafeRawBufferPointer(packet), header: header, into: segments) {
                    case let .success(cut): sendSegments(segments, cut, to: peer, &tally)
                    case .failure(.noRoom): record(&tally) { $0.drops[.oversized, default: 0] += 1 }
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
        return true
    }

    /// Sends the cut segments: with UDP_SEGMENT as few calls as the 64 KB datagram limit
    /// allows, else one send each. A UDP_SEGMENT send the kernel refuses (a path MTU below the
    /// segment, IPsec, no checksum offload on the way out) is sent again one datagram per
    /// segment, and UDP_SEGMENT is not used again (reported once by the 10 s tick).
    private func sendSegments(_ buffer: UnsafeMutableRawBufferPointer, _ cut: TCPSegmenter.Segments, to peer: IPv4Address,
                              _ tally: inout Tally) {
        let segmenting = offloads.udpSegment && segmentationRefusal.load(ordering: .relaxed) == 0
        let perCall = segmenting ? max(1, min(64, 65_000 / cut.segmentLength)) : 1
        var index = 0
        while index < cut.count {
            let count = min(perCall, cut.count - index)
            let start = index * cut.segmentLength
            let bytes = (count - 1) * cut.segmentLength + (index + count == cut.count ? cut.lastLength : cut.segmentLength)
            let sent = flannel_udp_send_segments(socket.fd, buffer.baseAddress! + start, UInt(bytes), peer.bits.bigEndian,
                                                 UInt16(port).bigEndian, count > 1 ? UInt16(cut.segmentLength) : 0)
            if sent == bytes {
                record(&tally) { $0.packetsOut += count; $0.bytesOut += bytes }
            } else if count > 1 && (-sent == EINVAL || -sent == EIO || -sent == EMSGSIZE) {
                segmentationRefusal.store(Int32(-sent), ordering: .relaxed)
                for one in index..<(index + count) {
                    let length = one == cut.count - 1 ? cut.lastLength : cut.segmentLength
                    let single = flannel_udp_send_segments(socket.fd, buffer.baseAddress! + one * cut.segmentLength, UInt(length),
                                                           peer.bits.bigEndian, UInt16(port).bigEndian, 0)
                    if single == length {
                        record(&tally) { $0.packetsOut += 1; $0.bytesOut += length }
                    } else {
                        record(&tally) { $0.drops[.sendFailed, default: 0] += 1 }
                    }
                }
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
        let outbound = OutboundBuffers()
        var tally = Tally()
        var coalescer = TCPCoalescer()
        defer {
            outbound.deallocate()
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
            let bytes = coalescer.segmentBytes
            let length = coalescer.finish(buffer: joined)
            guard length > 0 else { return }
            if write(tun.fd, joined.baseAddress, length) == length {
                record(&tally) { $0.packetsIn += segments; $0.bytesIn += bytes }
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
                    guard length >= 0 else {
                        record(&tally) { $0.drops[.oversized, default: 0] += 1 }
                        continue
                    }
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
            // What we just wrote is often answered at once (an echo reply, an ACK): if the
            // outbound thread is asleep, send it from here rather than wait for it to wake.
            if tunReader.withLockIfAvailable({ _ in drainTUN(outbound, &tally) }) == false { return }
        }
        flush(&tally)
    }
}
