/// `udp-inbound`: `UDPEncapsulation.inbound`, the check every datagram from the network passes
/// before its inner packet is written into flannel0, and the UDP_GRO split in front of it
/// (`UDPGROSegments`, what the daemon's receive loop walks).
///
/// The first byte picks the mode: a datagram of raw fuzz bytes, a datagram built from fields
/// the fuzz bytes choose (a valid header is the common case, so the deliver path is reached),
/// or a GRO super-datagram (raw or built, segment size from the input). Checked:
/// - the verdict equals a plain reference model (peer scan, longest-prefix match by a linear
///   walk, the header rules written out), for the small-table scan and the large-table lookup;
/// - `.deliver`: inner source in the sender's peer subnet, destination in our subnet, TTL one
///   lower, the header checksum verifies after exactly when it did before, nothing else changed;
/// - `.drop`: not one byte changed;
/// - GRO: the splitter gives the ranges the daemon's earlier loop gave, covering the
///   buffer exactly in `step`-sized pieces; a segment's verdict changes bytes of that segment
///   only.
enum UDPInboundFuzz {
    static let peerPort: UInt16 = 8285
    static let ownSubnet = IPv4Network("10.1.7.0/24")!
    static let ownHost = IPv4Address(192, 0, 2, 11)

    struct Route { var subnet: IPv4Network; var publicIP: IPv4Address }

    /// A host's usual handful, with overlapping prefixes (one covering our own subnet) so the
    /// longest-prefix order matters, and one public IP holding two subnets.
    static let smallTable: [Route] = [
        Route(subnet: IPv4Network("10.1.15.0/24")!, publicIP: IPv4Address(192, 0, 2, 12)),
        Route(subnet: IPv4Network("10.1.16.0/24")!, publicIP: IPv4Address(192, 0, 2, 13)),
        Route(subnet: IPv4Network("10.2.0.0/16")!, publicIP: IPv4Address(192, 0, 2, 14)),
        Route(subnet: IPv4Network("10.2.5.0/24")!, publicIP: IPv4Address(192, 0, 2, 15)),
        Route(subnet: IPv4Network("10.3.9.0/24")!, publicIP: IPv4Address(192, 0, 2, 14)),
        Route(subnet: IPv4Network("10.0.0.0/8")!, publicIP: IPv4Address(192, 0, 2, 16)),
    ]

    /// More than `PeerRoutes.scanLimit`: the dictionary path, two prefix lengths.
    static let largeTable: [Route] = (0..<40).map { index in
        Route(subnet: IPv4Network(address: IPv4Address(10, 1, UInt8(20 + index), 0), prefixLength: 24),
              publicIP: IPv4Address(192, 0, 2, UInt8(100 + index)))
    } + [Route(subnet: IPv4Network("10.1.0.0/16")!, publicIP: IPv4Address(192, 0, 2, 99))]

    static func peers(_ table: [Route]) -> [Peer] {
        table.map { Peer(key: SubnetKey($0.subnet), attributes: LeaseAttributes(publicIP: $0.publicIP)) }
    }

    static let smallRoutes = PeerRoutes(peers(smallTable))
    static let largeRoutes = PeerRoutes(peers(largeTable))

    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzReader(data)
        let mode = input.byte()
        let large = mode & 0x10 != 0
        let table = large ? largeTable : smallTable
        let routes = large ? largeRoutes : smallRoutes
        let sender = pickSender(&input, table)
        let port = input.byte() < 224 ? peerPort : input.u16()
        let mtu = input.byte() < 224 ? 1472 : input.int(in: 0...70_000)
        switch mode % 4 {
        case 0:
            datagram(input.rest(), sender: sender, port: port, table: table, routes: routes, mtu: mtu)
        case 1:
            datagram(builtPacket(&input, table, sender: sender), sender: sender, port: port, table: table, routes: routes, mtu: mtu)
        case 2:
            let segmentSize = input.byte() < 128 ? input.int(in: 0...2_000) : Int(Int32(bitPattern: input.u32()))
            gro(input.rest(), segmentSize: segmentSize, sender: sender, port: port, table: table, routes: routes, mtu: mtu)
        default:
            // A super-datagram as the kernel joins it: packets of one size, the last shorter.
            let segmentSize = input.int(in: 20...1_600)
            let count = input.int(in: 1...64)
            var bytes: [UInt8] = []
            for index in 0..<count where bytes.count < 65_507 {
                let last = index == count - 1
                let size = last ? input.int(in: 20...segmentSize) : segmentSize
                bytes += builtPacket(&input, table, sender: sender, size: size)
            }
            let reported = input.byte() < 240 ? segmentSize : input.int(in: 0...2_000)
            gro(bytes, segmentSize: reported, sender: sender, port: port, table: table, routes: routes, mtu: mtu)
        }
    }

    static func pickSender(_ input: inout FuzzReader, _ table: [Route]) -> IPv4Address {
        let choice = Int(input.byte())
        if choice < 200 { return table[choice % table.count].publicIP }
        if choice < 240 { return ownHost }
        return IPv4Address(bits: input.u32())
    }

    /// A source address: mostly in a subnet the sender holds (the deliver path), else in any
    /// peer's subnet, ours, or anywhere.
    static func pickSource(_ input: inout FuzzReader, _ table: [Route], sender: IPv4Address) -> IPv4Address {
        let choice = Int(input.byte())
        let host = input.u32()
        let own = table.filter { $0.publicIP == sender }
        let subnet: IPv4Network
        if choice < 160, !own.isEmpty {
            subnet = own[choice % own.count].subnet
        } else if choice < 224 {
            subnet = table[choice % table.count].subnet
        } else if choice < 240 {
            subnet = ownSubnet
        } else {
            return IPv4Address(bits: host)
        }
        return IPv4Address(bits: subnet.address.bits | host & ~subnet.mask)
    }

    /// A destination address: mostly in our subnet, else in a peer's or anywhere.
    static func pickDestination(_ input: inout FuzzReader, _ table: [Route]) -> IPv4Address {
        let choice = Int(input.byte())
        let host = input.u32()
        if choice < 192 { return IPv4Address(bits: ownSubnet.address.bits | host & ~ownSubnet.mask) }
        if choice < 240 {
            let subnet = table[choice % table.count].subnet
            return IPv4Address(bits: subnet.address.bits | host & ~subnet.mask)
        }
        return IPv4Address(bits: host)
    }

    /// An IPv4 packet whose fields the input chooses: mostly a valid header from the sender's
    /// subnet to ours, sometimes a bent one (version, IHL, total length, TTL, checksum).
    static func builtPacket(_ input: inout FuzzReader, _ table: [Route], sender: IPv4Address, size: Int? = nil) -> [UInt8] {
        let shape = input.byte()
        let ihlWords = shape & 0x07 == 0 ? Int(input.byte() & 0x0F) : 5 + (shape & 0x08 == 0 ? 0 : Int(input.byte() % 11))
        let length = size ?? (input.byte() < 200 ? input.int(in: 20...1_600) : input.int(in: 0...65_535))
        var bytes = input.take(length)
        bytes += [UInt8](repeating: 0x5A, count: length - bytes.count)
        guard bytes.count >= 20 else { return bytes }
        bytes[0] = (shape & 0x70 == 0x70 ? input.byte() & 0xF0 : 0x40) | UInt8(ihlWords)
        let total: Int
        switch shape >> 6 {
        case 0, 1, 2: total = bytes.count
        default: total = input.bool() ? input.int(in: 0...bytes.count) : Int(input.u16())
        }
        setWord(&bytes, 2, UInt16(truncatingIfNeeded: total))
        let ttl = input.byte()
        bytes[8] = ttl < 32 ? ttl % 3 : ttl
        let source = pickSource(&input, table, sender: sender), destination = pickDestination(&input, table)
        setWord(&bytes, 12, UInt16(source.bits >> 16)); setWord(&bytes, 14, UInt16(truncatingIfNeeded: source.bits))
        setWord(&bytes, 16, UInt16(destination.bits >> 16)); setWord(&bytes, 18, UInt16(truncatingIfNeeded: destination.bits))
        let ihl = min(ihlWords * 4, bytes.count)
        if input.byte() < 230, ihl >= 20 {
            setWord(&bytes, 10, 0)
            setWord(&bytes, 10, ~UInt16(truncatingIfNeeded: referenceSum(bytes[0..<ihl])))
        }
        return bytes
    }

    /// What `inbound` must answer, from the rules written out plainly.
    static func reference(_ packet: [UInt8], sender: IPv4Address, port: UInt16, table: [Route], mtu: Int) -> UDPEncapsulation.InboundVerdict {
        guard table.contains(where: { $0.publicIP == sender }) else { return .drop(.notFromPeer) }
        guard port == peerPort else { return .drop(.wrongSourcePort) }
        guard packet.count <= mtu else { return .drop(.oversized) }
        guard packet.count >= 20, packet[0] >> 4 == 4 else { return .drop(.malformed) }
        let ihl = Int(packet[0] & 0x0F) * 4
        let total = Int(word(packet, 2))
        guard ihl >= 20, ihl <= packet.count, total >= ihl, total <= packet.count else { return .drop(.malformed) }
        let source = IPv4Address(bits: address(packet, 12)), destination = IPv4Address(bits: address(packet, 16))
        let owner = table.filter { $0.subnet.contains(source) }.max { $0.subnet.prefixLength < $1.subnet.prefixLength }
        guard owner?.publicIP == sender else { return .drop(.spoofedSource) }
        guard ownSubnet.contains(destination) else { return .drop(.notForUs) }
        guard packet[8] > 1 else { return .drop(.ttlExpired) }
        return .deliver
    }

    /// One datagram, alone in an exact-size buffer.
    static func datagram(_ packet: [UInt8], sender: IPv4Address, port: UInt16, table: [Route], routes: PeerRoutes, mtu: Int) {
        let (after, verdict) = withExactCopy(of: packet) { buffer in
            let verdict = UDPEncapsulation.inbound(buffer, from: sender, port: port, routes: routes, ownSubnet: ownSubnet,
                                                   peerPort: peerPort, mtu: mtu)
            return (Array(buffer), verdict)
        }
        checkVerdict(verdict, before: packet, after: after, sender: sender, port: port, table: table, mtu: mtu)
    }

    static func checkVerdict(_ verdict: UDPEncapsulation.InboundVerdict, before: [UInt8], after: [UInt8], sender: IPv4Address,
                             port: UInt16, table: [Route], mtu: Int) {
        let expected = reference(before, sender: sender, port: port, table: table, mtu: mtu)
        check(verdict == expected, "inbound answered \(verdict), the reference \(expected) (from \(sender):\(port), \(before.count) bytes: \(hex(before)))")
        switch verdict {
        case .drop:
            check(sameBytes(after, before), "a dropped datagram was changed")
        case .deliver:
            let source = IPv4Address(bits: address(after, 12)), destination = IPv4Address(bits: address(after, 16))
            let owner = table.filter { $0.subnet.contains(source) }.max { $0.subnet.prefixLength < $1.subnet.prefixLength }
            check(owner?.publicIP == sender, "delivered a packet from \(source), which is not \(sender)'s")
            check(ownSubnet.contains(destination), "delivered a packet for \(destination), outside \(ownSubnet)")
            check(after[8] == before[8] - 1, "TTL \(before[8]) became \(after[8])")
            check(ipHeaderVerifies(after) == ipHeaderVerifies(before),
                  "the header checksum verified \(ipHeaderVerifies(before)) before the TTL update and \(ipHeaderVerifies(after)) after")
            check(sameBytes(after, before, except: [8, 10, 11]), "delivering changed more than the TTL and checksum")
        }
    }

    /// The daemon's loop as it is today (UDPProxy+Forwarding.swift, `let step = segmentSizes…`).
    static func daemonRanges(length: Int, segmentSize: Int) -> [Range<Int>] {
        let step = segmentSize > 0 ? segmentSize : max(length, 1)
        var ranges: [Range<Int>] = []
        var offset = 0
        while offset < length {
            ranges.append(offset..<min(offset + step, length))
            offset += step
        }
        return ranges
    }

    static func gro(_ bytes: [UInt8], segmentSize: Int, sender: IPv4Address, port: UInt16, table: [Route], routes: PeerRoutes, mtu: Int) {
        let split = UDPGROSegments(length: bytes.count, segmentSize: segmentSize)
        let ranges = Array(split)
        check(ranges == daemonRanges(length: bytes.count, segmentSize: segmentSize),
              "UDPGROSegments differs from the daemon's loop for \(bytes.count) bytes in \(segmentSize)")
        check(ranges.count == split.count, "count \(split.count) but \(ranges.count) ranges")
        var next = 0
        for (index, range) in ranges.enumerated() {
            check(range.lowerBound == next && !range.isEmpty, "range \(index) is \(range) after \(next)")
            check(range.count == split.step || (index == ranges.count - 1 && range.count < split.step),
                  "range \(index) of \(ranges.count) is \(range.count) bytes, step \(split.step)")
            next = range.upperBound
        }
        check(next == bytes.count, "the ranges end at \(next) of \(bytes.count)")
        // Every segment in turn through `inbound`, in place in one exact buffer as the daemon
        // does: only the segment's own bytes may change.
        withExactCopy(of: bytes) { buffer in
            var expected = bytes
            for range in ranges {
                let segment = UnsafeMutableRawBufferPointer(rebasing: buffer[range])
                let before = Array(expected[range])
                let verdict = UDPEncapsulation.inbound(segment, from: sender, port: port, routes: routes, ownSubnet: ownSubnet,
                                                       peerPort: peerPort, mtu: mtu)
                let after = Array(segment)
                checkVerdict(verdict, before: before, after: after, sender: sender, port: port, table: table, mtu: mtu)
                expected.replaceSubrange(range, with: after)
            }
            // Each segment's bytes as they were right after its own verdict: a later segment
            // wrote nothing into an earlier one, nor into a later one before its turn.
            check(sameBytes(Array(buffer), expected), "a segment's verdict changed bytes outside its range")
        }
    }
}
