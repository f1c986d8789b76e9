import CLinuxShims
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// The two forwarding threads: the same per-packet decisions (`UDPEncapsulation`) and the same
/// wire format (one inner IPv4 packet per datagram) whatever the kernel granted, with as few
/// system calls as it allows. Out: the TUN is drained until empty (by the inbound thread at
/// most 32 read calls at a time; on a quiet wake-up for the TUN alone its first drain stops
/// after a packet sent alone, to look at the socket first, and an answer sent alone to a lone
/// datagram ends a quiet wake-up, to sleep sooner); single packets leave in sendmmsg
/// batches; with TSO it hands 64 KB TCP super-packets, cut here (`TCPSegmenter`) and sent with
/// one `UDP_SEGMENT` call per ≤ 64 KB. In: the first datagram after a wake-up comes with
/// recvmsg (and the next, unless a TCP segment waits to be joined), the rest 16 messages per
/// recvmmsg; with `UDP_GRO` a sender's datagrams come joined, are split, checked one by one,
/// and in-order segments of a flow are joined (`TCPCoalescer`) into one TSO write to the TUN;
/// a packet delivered alone gets its vnet header in the free bytes before it (`messageLead`).
/// Buffers are taken once per thread from one allocation (`BufferArena`); nothing per packet.
/// `--udp-offload=off` (`UDPOffloads.none`): a plain TUN, one datagram per inner packet, sends
/// and receives batched all the same.
extension UDPProxy {
    /// Room for a vnet header before each packet read from or written to the TUN.
    var headerRoom: Int { offloads.vnetHeader ? VirtioNetHeader.size : 0 }

    /// Parked until the inbound thread hands the TUN over, then serves it until it has been
    /// quiet for `quietBeforeHandBack` and hands it back.
    func runOutbound() {
        var arena = BufferArena(holding: OutboundBuffers.sizes + [MemoryLayout<pollfd>.stride])
        let buffers = OutboundBuffers(from: &arena)
        let descriptor = arena.take(1, of: pollfd.self)
        var tally = Tally()
        var cache = PathCache()
        defer {
            publish(&tally)
            arena.deallocate()
        }
        while true {
            descriptor.pointee = pollfd(fd: outboundWake, events: Int16(POLLIN), revents: 0)
            switch waitReadable(descriptor, 1, timeout: -1, &tally) {
            case .finished: return
            case .timedOut: continue
            case .ready: flannel_eventfd_clear(outboundWake)
            }
            guard outboundAwake.load(ordering: .acquiring) else { continue }
            descriptor.pointee = pollfd(fd: tunFD, events: Int16(POLLIN), revents: 0)
            serving: while true {
                switch waitReadable(descriptor, 1, timeout: Self.quietBeforeHandBack, &tally) {
                case .finished:
                    return
                case .timedOut:
                    // Whatever comes now makes the TUN readable for the inbound thread's poll.
                    outboundAwake.store(false, ordering: .releasing)
                    _ = flannel_eventfd_signal(inboundWake)
                    break serving
                case .ready:
                    if tunReader.withLock({ _ in drainTUN(buffers, &cache, budget: .max, &tally) }) == .failed { return }
                }
            }
        }
    }

    enum Drain: Equatable {
        /// The TUN is empty; `reads` read calls returned something (or were retried).
        case empty(reads: Int)
        case busy
        case failed
        /// The first packet read was sent alone and the drain stopped there (`stopAfterLoneSend`):
        /// the TUN may hold more.
        case stoppedAfterLoneSend

        /// Read calls that returned something (or were retried), or nil when the budget ran out
        /// or the TUN failed.
        var reads: Int? {
            switch self {
            case let .empty(reads): reads
            case .stoppedAfterLoneSend: 1
            case .busy, .failed: nil
            }
        }
    }

    /// What the inbound thread's turn at the TUN came to: `.done` also when the TUN was handed
    /// to the outbound thread, even after a lone send.
    enum Served: Equatable { case done, stoppedAfterLoneSend, failed }

    /// Single packets (not super-packets) sent per sendmmsg, and the room each may take: a
    /// larger one is sent on its own.
    static let sendBatch = 64
    static let batchSlot = 2_048

    /// Reads the TUN until it is empty (`.empty`) or after `budget` read calls (`.busy`),
    /// sending what it reads; `.failed` when the TUN failed. The first packet read leaves at
    /// once, alone, unless `batchFromFirst`; with `stopAfterLoneSend` that ends the drain
    /// (`.stoppedAfterLoneSend`). Only the holder of `tunReader` reads.
    @inline(__always)
    func drainTUN(_ buffers: OutboundBuffers, _ cache: inout PathCache, budget: Int, stopAfterLoneSend: Bool = false,
                  batchFromFirst: Bool = false, _ tally: inout Tally) -> Drain {
        let (input, segments, reply) = (buffers.input, buffers.segments, buffers.reply)
        let room = headerRoom
        var reads = 0
        var batched = 0
        // Whatever way the drain ends, what is batched leaves first.
        defer { if batched > 0 { sendBatched(buffers, batched, &tally) } }
        while !stopping.load(ordering: .relaxed) {
            guard reads < budget else { return .busy }
            reads += 1
            let length = flannel_read(tunFD, input.baseAddress, UInt(input.count))
            if length < 0 {
                if -length == EAGAIN { return .empty(reads: reads - 1) }
                if readFailed(tun.name, code: Int32(-length)) { return .failed }
                continue
            }
            guard length > room else { continue }
            // One atomic load: a peer or address change applies from the next packet on, even
            // in a drain that never finds the TUN empty.
            refresh(&cache)
            let header = room > 0 ? VirtioNetHeader(UnsafeRawBufferPointer(rebasing: input[0..<room])) ?? .plain : .plain
            let packet = UnsafeMutableRawBufferPointer(rebasing: input[room..<length])
            switch UDPEncapsulation.outbound(packet, routes: cache.path.routes, tunAddress: cache.path.ownSubnet.address,
                                             reply: UnsafeMutableRawBufferPointer(rebasing: reply[room...])) {
            case let .send(peer):
                if header.gsoType != VirtioNetHeader.gsoNone {
                    // In order: what was batched before this super-packet leaves before it.
                    if batched > 0 { sendBatched(buffers, batched, &tally) }
                    batched = 0
                    switch TCPSegmenter.segment(UnsafeRawBufferPointer(packet), header: header, into: segments) {
                    case let .success(cut): sendSegments(segments, cut, to: peer, &tally)
                    case .failure(.noRoom): record(&tally) { $0.dropped(.oversized) }
                    case .failure: record(&tally) { $0.dropped(.malformed) }
                    }
                    continue
                }
                if header.needsChecksumCompletion && !TCPSegmenter.completeChecksum(packet, header: header) {
                    record(&tally) { $0.dropped(.malformed) }
                    continue
                }
                // The first packet of a drain leaves at once (a ping, a lone ACK: no wait for
                // the read that finds the TUN empty); those that follow it are batched.
                if (reads > 1 || batchFromFirst) && packet.count <= Self.batchSlot {
                    (buffers.batch.baseAddress! + batched * Self.batchSlot).copyMemory(from: packet.baseAddress!, byteCount: packet.count)
                    buffers.batchLengths[batched] = Int32(packet.count)
                    buffers.batchPeers[batched] = peer.bits.bigEndian
                    batched += 1
                    if batched == Self.sendBatch {
                        sendBatched(buffers, batched, &tally)
                        batched = 0
                    }
                    continue
                }
                if batched > 0 { sendBatched(buffers, batched, &tally) }
                batched = 0
                let sent = flannel_udp_send_segments(socketFD, packet.baseAddress, UInt(packet.count), peer.bits.bigEndian,
                                                     UInt16(port).bigEndian, 0)
                if sent == packet.count {
                    record(&tally) { $0.sent(1, bytes: packet.count) }
                } else {
                    record(&tally) { $0.dropped(.sendFailed) }
                }
                if stopAfterLoneSend && reads == 1 { return .stoppedAfterLoneSend }
            case let .reply(replyLength):
                // The reply buffer starts with a zeroed (plain) vnet header when there is one.
                if write(tunFD, reply.baseAddress, room + replyLength) == room + replyLength {
                    record(&tally) { $0.replied() }
                } else {
                    record(&tally) { $0.dropped(.tunWriteFailed) }
                }
            case let .drop(reason):
                record(&tally) { $0.dropped(reason) }
            }
        }
        return .empty(reads: reads)
    }

    /// Sends the first `count` batched packets with as few sendmmsg calls as the kernel takes;
    /// one it refuses is counted and skipped.
    private func sendBatched(_ buffers: OutboundBuffers, _ count: Int, _ tally: inout Tally) {
        var index = 0
        while index < count {
            let sent = Int(flannel_udp_send_batch(socketFD, buffers.batch.baseAddress! + index * Self.batchSlot, UInt(Self.batchSlot),
                                                  buffers.batchLengths + index, buffers.batchPeers + index, UInt16(port).bigEndian,
                                                  Int32(count - index)))
            guard sent > 0 else {
                record(&tally) { $0.dropped(.sendFailed) }
                index += 1
                continue
            }
            var bytes = 0
            for one in index..<(index + sent) { bytes += Int(buffers.batchLengths[one]) }
            record(&tally) { $0.sent(sent, bytes: bytes) }
            index += sent
        }
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
            let sent = flannel_udp_send_segments(socketFD, buffer.baseAddress! + start, UInt(bytes), peer.bits.bigEndian,
                                                 UInt16(port).bigEndian, count > 1 ? UInt16(cut.segmentLength) : 0)
            if sent == bytes {
                record(&tally) { $0.sent(count, bytes: bytes) }
            } else if count > 1 && (-sent == EINVAL || -sent == EIO || -sent == EMSGSIZE) {
                segmentationRefusal.store(Int32(-sent), ordering: .relaxed)
                for one in index..<(index + count) {
                    let length = one == cut.count - 1 ? cut.lastLength : cut.segmentLength
                    let single = flannel_udp_send_segments(socketFD, buffer.baseAddress! + one * cut.segmentLength, UInt(length),
                                                           peer.bits.bigEndian, UInt16(port).bigEndian, 0)
                    if single == length {
                        record(&tally) { $0.sent(1, bytes: length) }
                    } else {
                        record(&tally) { $0.dropped(.sendFailed) }
                    }
                }
            } else {
                record(&tally) { $0.dropped(.sendFailed, count) }
            }
            index += count
        }
    }

    /// Messages per recvmmsg, and room for each: a UDP_GRO message is at most 64 KB.
    static let batch = Int(FLANNEL_RECEIVE_BATCH_MAX)
    static let messageRoom = 65_536
    /// Bytes kept free before each received message: a packet delivered alone gets its vnet
    /// header written just before it, and goes to the TUN with one plain write (the bytes
    /// before a later segment of a message belong to one already handled).
    static let messageLead = 16
    static let messageStride = messageLead + messageRoom

    /// Receives datagrams and writes them to the TUN; serves the TUN too while the outbound
    /// thread is parked.
    func runInbound() {
        var arena = BufferArena(holding: InboundBuffers.sizes)
        let buffers = InboundBuffers(from: &arena)
        let (input, lengths, senders, senderPorts, segmentSizes) = (buffers.input, buffers.lengths, buffers.senders, buffers.senderPorts,
                                                                    buffers.segmentSizes)
        let (joined, outbound, descriptors) = (buffers.joined, buffers.outbound, buffers.descriptors)
        var tally = Tally()
        var cache = PathCache()
        var load = TUNLoad()
        var coalescer = TCPCoalescer()
        defer {
            publish(&tally)
            arena.deallocate()
        }
        let room = headerRoom
        let joins = offloads.vnetHeader && offloads.udpGRO
        // The nested functions take the thread's state inout rather than capture it: a
        // captured var is boxed and every access to it checked at run time.
        /// Writes what the coalescer holds; false when it held nothing. Inlined: most calls find
        /// it empty, and a call would cost more than the check.
        @inline(__always) @discardableResult
        func flush(_ coalescer: inout TCPCoalescer, _ tally: inout Tally) -> Bool {
            guard coalescer.isOpen else { return false }
            let segments = coalescer.segments
            let bytes = coalescer.segmentBytes
            let length = coalescer.finish(buffer: joined)
            guard length > 0 else { return false }
            if write(tunFD, joined.baseAddress, length) == length {
                record(&tally) { $0.delivered(segments, bytes: bytes) }
            } else {
                record(&tally) { $0.dropped(.tunWriteFailed, segments) }
            }
            return true
        }
        @inline(__always)
        func deliverAlone(_ packet: UnsafeMutableRawBufferPointer, _ tally: inout Tally) {
            // A plain vnet header in the free bytes before the packet (`messageLead`): one
            // buffer, one plain write.
            let start = packet.baseAddress! - room
            if room > 0 { start.initializeMemory(as: UInt8.self, repeating: 0, count: room) }
            let written = write(tunFD, start, room + packet.count)
            if written == room + packet.count {
                record(&tally) { $0.delivered(1, bytes: packet.count) }
            } else {
                record(&tally) { $0.dropped(.tunWriteFailed) }
            }
        }
        /// Serves the TUN while it is ours; calls the outbound thread when it is busy. With
        /// `stopAfterLoneSend` a lone first packet ends the drain (`.stoppedAfterLoneSend`);
        /// `.failed` when the TUN failed. Counts the drain's read calls in `steering`.
        @inline(__always)
        func serveTUN(_ cache: inout PathCache, _ load: inout TUNLoad, _ tally: inout Tally, _ service: InboundSteering.TUNService,
                      _ steering: inout InboundSteering) -> Served {
            guard !outboundAwake.load(ordering: .acquiring) else { return .done }
            let drain = tunReader.withLock { _ in
                drainTUN(outbound, &cache, budget: Self.inboundDrainBudget, stopAfterLoneSend: service.stopAfterLoneSend,
                         batchFromFirst: service.batchFromFirst, &tally)
            }
            if drain == .failed { return .failed }
            if let reads = drain.reads {
                steering.drained(reads)
                guard reads > 0 else { return .done }
                let busy = load.add(reads) {
                    var now = timespec()
                    clock_gettime(CLOCK_MONOTONIC, &now)
                    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
                }
                if !busy { return drain == .stoppedAfterLoneSend ? .stoppedAfterLoneSend : .done }
            } else {
                // The budget ran out.
                steering.drained(Self.inboundDrainBudget)
            }
            load = TUNLoad()
            outboundAwake.store(true, ordering: .releasing)
            _ = flannel_eventfd_signal(outboundWake)
            return .done
        }
        var steering = InboundSteering(batch: Self.batch)
        while true {
            let servesTUN = !outboundAwake.load(ordering: .acquiring)
            descriptors[0] = pollfd(fd: socketFD, events: Int16(POLLIN), revents: 0)
            descriptors[1] = pollfd(fd: inboundWake, events: Int16(POLLIN), revents: 0)
            descriptors[2] = pollfd(fd: tunFD, events: Int16(POLLIN), revents: 0)
            switch waitReadable(descriptors, servesTUN ? 3 : 2, timeout: -1, &tally) {
            case .finished: flush(&coalescer, &tally); return
            case .timedOut: continue
            case .ready: break
            }
            if descriptors[1].revents != 0 { flannel_eventfd_clear(inboundWake) }
            // What to receive and when to serve the TUN is `InboundSteering`'s (why, there).
            steering.wake(socketReadable: descriptors[0].revents != 0, tunReadable: descriptors[2].revents != 0)
            defer { steering.sleep() }
            waking: while true {
                while steering.receiving && !stopping.load(ordering: .relaxed) {
                    let count = flannel_udp_receive_batch(socketFD, input.baseAddress! + Self.messageLead, UInt(Self.messageStride),
                                                          UInt(Self.messageRoom), Int32(steering.asked), lengths, senders, senderPorts, segmentSizes)
                    if count < 0 {
                        if -count == EAGAIN || -count == EINTR { break }
                        if readFailed("the UDP socket", code: -count) { return }
                        continue
                    }
                    refresh(&cache)
                    for message in 0..<Int(count) {
                        let base = message * Self.messageStride + Self.messageLead
                        let length = Int(lengths[message])
                        guard length >= 0 else {
                            record(&tally) { $0.dropped(.oversized) }
                            continue
                        }
                        let from = IPv4Address(bits: UInt32(bigEndian: senders[message]))
                        let fromPort = senderPorts[message]
                        // The split is `UDPGROSegments`' (pure, fuzzed).
                        for range in UDPGROSegments(length: length, segmentSize: Int(segmentSizes[message])) {
                            let packet = UnsafeMutableRawBufferPointer(rebasing: input[(base + range.lowerBound)..<(base + range.upperBound)])
                            switch UDPEncapsulation.inbound(packet, from: from, port: fromPort, routes: cache.path.routes,
                                                                     ownSubnet: cache.path.ownSubnet, peerPort: peerPort, mtu: mtu) {
                            case .deliver:
                                // Only TCP joins: anything else (a ping) goes straight to the TUN,
                                // after what the coalescer holds.
                                guard joins, packet[9] == TCPSegmenter.tcpProtocol else {
                                    flush(&coalescer, &tally)
                                    deliverAlone(packet, &tally)
                                    continue
                                }
                                if coalescer.append(UnsafeRawBufferPointer(packet), buffer: joined) { continue }
                                flush(&coalescer, &tally)
                                if !coalescer.start(UnsafeRawBufferPointer(packet), buffer: joined) { deliverAlone(packet, &tally) }
                            case let .drop(reason):
                                record(&tally) { $0.dropped(reason) }
                            }
                        }
                    }
                    // All that was asked for: more may be queued. Meanwhile answers (ACKs) may wait on the TUN.
                    if let service = steering.received(Int(count), coalescerHolds: coalescer.isOpen, firstWasJoined: segmentSizes[0] > 0) {
                        switch serveTUN(&cache, &load, &tally, service, &steering) {
                        case .failed: return
                        case .stoppedAfterLoneSend: break waking
                        case .done: steering.tunServed()
                        }
                    }
                }
                // The queue is empty for now: nothing is held back.
                guard let service = steering.receivingEnded(flushed: flush(&coalescer, &tally)) else { break waking }
                switch serveTUN(&cache, &load, &tally, service, &steering) {
                case .failed: return
                case .done: break waking
                case .stoppedAfterLoneSend: steering.drainStoppedAfterLoneSend()
                }
            }
        }
    }
}
