import AgentCore

/// TCP streams across the simulated data path, through the udp fast path's real packet
/// surgery: the sending kernel hands flannel0 super-packets (TSO) that the agent's proxy cuts
/// with `TCPSegmenter`, and the receiving proxy joins what arrives with `TCPCoalescer`
/// (`SimOptions.udpOffloads`). Without it, and on every other route, the kernel cuts them
/// itself (GSO) with the same segmenter.
extension SimWorld {
    /// Largest super-packet the sending kernel hands on: 64 KB with its headers.
    static let superPacketLimit = 65_535

    /// Sends `bytes` from `container` on `host` to `destination` (one way, no retransmission:
    /// what arrives is what the data path carried) and runs the world until every byte is in
    /// or `timeout` passes.
    public func sendStream(from host: SimHost, container: Int = 0, to destination: IPv4Address, bytes: Int, mss: Int = 1_420,
                           timeout: Duration = .seconds(2)) -> SimStream {
        // An MSS a TCP could use: at least one segment fits a super-packet's 64 KB.
        guard container < host.containers.count, bytes > 0, mss > 0, mss <= Self.superPacketLimit - 40 else {
            return SimStream(bytes: max(bytes, 0))
        }
        let source = host.containers[container]
        traffic.streamSequence &+= 1
        let port = traffic.streamSequence
        traffic.streams.removeAll()
        traffic.streams[port] = SimStream(bytes: bytes)
        let datagramsBefore = statistics.datagramsSent
        let perPacket = options.udpOffloads ? min(64, (Self.superPacketLimit - 40) / mss) * mss : mss
        var offset = 0
        var index = 0
        while offset < bytes {
            let length = min(perPacket, bytes - offset)
            let packet = SimPacket.tcp(from: source.address, to: destination, sourcePort: 40_000, destinationPort: port,
                                       sequence: SimStream.initialSequence &+ UInt32(offset), flags: offset + length == bytes ? 0x18 : 0x10,
                                       ipID: UInt16(truncatingIfNeeded: offset / mss), payload: Self.streamBytes(offset, length),
                                       partialChecksum: true)
            // Apart enough that each super-packet's datagrams arrive at an instant of their own.
            scheduler.schedule(after: .microseconds(5 + 20 * index)) { [unowned self] in
                traffic.streams[port]?.superPackets += 1
                kernelSend(host, packet, mss: mss)
            }
            offset += length
            index += 1
        }
        run(until: { traffic.streams[port]?.isComplete ?? true }, timeout: timeout)
        var stream = traffic.streams.removeValue(forKey: port) ?? SimStream(bytes: bytes)
        stream.datagrams = statistics.datagramsSent - datagramsBefore
        record("stream \(source.name) \(source.address) -> \(destination): \(stream)")
        return stream
    }

    static func streamBytes(_ offset: Int, _ length: Int) -> ArraySlice<UInt8> {
        ArraySlice((offset..<(offset + length)).map(SimPacket.streamByte))
    }

    /// The sending host's kernel with a TCP super-packet from a container: to flannel0 whole
    /// when the proxy takes super-packets, else cut here (GSO) and routed segment by segment.
    func kernelSend(_ host: SimHost, _ packet: [UInt8], mss: Int) {
        let destination = SimPacket.destination(packet)
        let header = SimPacket.superPacketHeader(packet, mss: mss)
        guard options.udpOffloads, host.bridge?.contains(destination) != true, let tunnel = host.tunnel,
              tunnel.network.contains(destination), let agent = host.agent else {
            for segment in Self.cut(packet, header) { hostReceive(host, segment, from: .bridge) }
            return
        }
        // The proxy reads the whole super-packet from flannel0, then the real segmenter cuts
        // it, one datagram per segment.
        var packet = packet
        guard let peer = proxyReads(&packet, on: host, agent: agent, tunnel: tunnel) else { return }
        let segments = Self.cut(packet, header)
        if segments.isEmpty { return drop(host, "proxy: a super-packet the segmenter refused") }
        for segment in segments { underlaySend(from: host, to: peer, .udp(segment)) }
    }

    /// `TCPSegmenter` on `packet`: its segments, each with full checksums (a packet not to be
    /// cut gets its checksum completed); none when the segmenter refuses it.
    static func cut(_ packet: [UInt8], _ header: VirtioNetHeader) -> [[UInt8]] {
        guard header.isTCPv4Super else {
            var whole = packet
            let completed = whole.withUnsafeMutableBytes { TCPSegmenter.completeChecksum($0, header: header) }
            return completed ? [whole] : []
        }
        let mss = Int(header.gsoSize)
        var output = [UInt8](repeating: 0, count: packet.count + (packet.count / mss + 1) * 60)
        let result = packet.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { TCPSegmenter.segment(input, header: header, into: $0) }
        }
        guard case let .success(segments) = result else { return [] }
        return (0..<segments.count).map { index in
            let start = index * segments.segmentLength
            return Array(output[start..<(start + (index == segments.count - 1 ? segments.lastLength : segments.segmentLength))])
        }
    }

    /// The receiving proxy with a packet that passed its checks: joined to what arrived at
    /// this instant when it continues it, else whatever was open goes to flannel0 first.
    func joinOrDeliver(_ host: SimHost, _ packet: [UInt8]) {
        // Only TCP joins (and only hosts that saw TCP hold a joiner's 64 KB); anything else
        // lets what is open go first, in order.
        guard packet.count > 20, packet[9] == 6 else {
            if let joiner = traffic.joiners[host.index] { deliverJoined(host, joiner) }
            return hostReceive(host, packet, from: .tunnel)
        }
        let joiner = traffic.joiners[host.index] ?? SimSegmentJoiner()
        traffic.joiners[host.index] = joiner
        if joiner.append(packet) { return }
        deliverJoined(host, joiner)
        guard joiner.start(packet) else { return hostReceive(host, packet, from: .tunnel) }
        guard !joiner.flushScheduled else { return }
        joiner.flushScheduled = true
        let generation = host.generation
        // After every arrival already scheduled for this instant: the receive queue is empty.
        scheduler.schedule(after: .zero) { [unowned self] in
            // The agent died since (`stopAgent` dropped what was held); a new one flushes its own.
            guard host.generation == generation else { return }
            joiner.flushScheduled = false
            deliverJoined(host, joiner)
        }
    }

    /// The open joined packet into flannel0. The kernel takes it checksum-partial; the
    /// container's side completes the checksum from the pseudo-header sum the joiner left, so
    /// a wrong sum shows as a corrupt packet.
    func deliverJoined(_ host: SimHost, _ joiner: SimSegmentJoiner) {
        guard let (header, joined) = joiner.finish() else { return }
        var packet = joined
        if header.needsChecksumCompletion && !packet.withUnsafeMutableBytes({ TCPSegmenter.completeChecksum($0, header: header) }) {
            return drop(host, "flannel0: a joined packet whose checksum cannot be completed")
        }
        hostReceive(host, packet, from: .tunnel)
    }

    /// A TCP packet at a container: the stream it belongs to (its destination port) takes it.
    func streamReceive(_ container: SimHost.Container, _ packet: [UInt8]) {
        guard packet.count >= 40 else { return }
        traffic.streams[SimPacket.get16(packet, 22)]?.accept(packet)
    }
}
