import Agent
import Sim
import Testing

/// The udp backend's per-packet decisions, on hand-built packets.
@Suite("udp data path (pure packet code)")
struct UDPEncapsulationTests {
    static let tun = IPv4Address(10, 1, 33, 0)
    static let ownSubnet = IPv4Network("10.1.33.0/24")!
    static let routes = PeerRoutes([
        Peer(key: SubnetKey(IPv4Network("10.1.71.0/24")!), attributes: LeaseAttributes(publicIP: IPv4Address(10, 12, 10, 193))),
        Peer(key: SubnetKey(IPv4Network("10.1.82.0/24")!), attributes: LeaseAttributes(publicIP: IPv4Address(10, 12, 10, 200))),
    ])

    /// An ICMP echo request of `payload` bytes (ping's 56 by default) with a valid checksum.
    static func ping(from source: IPv4Address, to destination: IPv4Address, ttl: UInt8 = 64, payload: Int = 56,
                     proto: UInt8 = 1, fragmentOffset: UInt16 = 0) -> [UInt8] {
        let total = 20 + 8 + payload
        var bytes = [UInt8](repeating: 0, count: total)
        bytes[0] = 0x45
        bytes[2] = UInt8(total >> 8)
        bytes[3] = UInt8(total & 0xFF)
        bytes[6] = UInt8(fragmentOffset >> 8)
        bytes[7] = UInt8(fragmentOffset & 0xFF)
        bytes[8] = ttl
        bytes[9] = proto
        for (offset, address) in [(12, source), (16, destination)] {
            let o = address.octets
            bytes[offset] = o.0; bytes[offset + 1] = o.1; bytes[offset + 2] = o.2; bytes[offset + 3] = o.3
        }
        bytes[20] = 8 // echo request
        for index in 28..<total { bytes[index] = UInt8(truncatingIfNeeded: index) }
        let headerChecksum = bytes.withUnsafeBytes { InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<20])) }
        bytes[10] = UInt8(headerChecksum >> 8)
        bytes[11] = UInt8(headerChecksum & 0xFF)
        let icmpChecksum = bytes.withUnsafeBytes { InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: $0[20...])) }
        bytes[22] = UInt8(icmpChecksum >> 8)
        bytes[23] = UInt8(icmpChecksum & 0xFF)
        return bytes
    }

    static func outbound(_ packet: inout [UInt8], reply: inout [UInt8]) -> UDPEncapsulation.OutboundVerdict {
        packet.withUnsafeMutableBytes { packetBytes in
            reply.withUnsafeMutableBytes { replyBytes in
                UDPEncapsulation.outbound(packetBytes, routes: routes, tunAddress: tun, reply: replyBytes)
            }
        }
    }

    static func inbound(_ packet: inout [UInt8], from sender: IPv4Address, port: UInt16 = 8285,
                        routes: PeerRoutes = routes, mtu: Int = 1472) -> UDPEncapsulation.InboundVerdict {
        packet.withUnsafeMutableBytes {
            UDPEncapsulation.inbound($0, from: sender, port: port, routes: routes, ownSubnet: ownSubnet, peerPort: 8285, mtu: mtu)
        }
    }

    static func headerVerifies(_ packet: [UInt8]) -> Bool {
        packet.withUnsafeBytes { InternetChecksum.verifies(UnsafeRawBufferPointer(rebasing: $0[0..<20])) }
    }

    @Test func outboundFindsThePeerAndDecrementsTTLWithAValidChecksum() {
        var packet = Self.ping(from: IPv4Address(10, 1, 33, 2), to: IPv4Address(10, 1, 71, 2))
        let original = packet
        var reply = [UInt8](repeating: 0, count: 96)
        #expect(Self.outbound(&packet, reply: &reply) == .send(to: IPv4Address(10, 12, 10, 193)))
        #expect(packet[8] == 63)
        #expect(Self.headerVerifies(packet))
        // The wire payload is the bare inner packet: 84 bytes for a 56-byte ping.
        #expect(packet.count == 84)
        #expect(Array(packet[20...]) == Array(original[20...]))
    }

    /// Two proxy decrements (sender's outbound, receiver's inbound) plus the two hosts'
    /// forwarding: 64 → 60, the walkthrough's ttl=60.
    @Test func aPingAcrossTwoProxiesLosesTwoHops() {
        var packet = Self.ping(from: IPv4Address(10, 1, 33, 2), to: IPv4Address(10, 1, 71, 2), ttl: 63) // host 1 forwarded it
        var reply = [UInt8](repeating: 0, count: 96)
        #expect(Self.outbound(&packet, reply: &reply) == .send(to: IPv4Address(10, 12, 10, 193)))
        let receiverRoutes = PeerRoutes([Peer(key: SubnetKey(IPv4Network("10.1.33.0/24")!), attributes: LeaseAttributes(publicIP: IPv4Address(10, 12, 10, 201)))])
        var arrived = packet
        #expect(Self.inbound(&arrived, from: IPv4Address(10, 12, 10, 201), routes: receiverRoutes) == .drop(.notForUs))
        let receiverSubnet = IPv4Network("10.1.71.0/24")!
        let verdict = packet.withUnsafeMutableBytes {
            UDPEncapsulation.inbound($0, from: IPv4Address(10, 12, 10, 201), port: 8285, routes: receiverRoutes,
                                     ownSubnet: receiverSubnet, peerPort: 8285, mtu: 1472)
        }
        #expect(verdict == .deliver)
        #expect(packet[8] - 1 == 60) // host 2 forwards it into docker0 once more
        #expect(Self.headerVerifies(packet))
    }

    @Test func noPeerGivesNetUnreachableFromFlannel0() {
        let source = IPv4Address(10, 1, 33, 2)
        var packet = Self.ping(from: source, to: IPv4Address(10, 1, 99, 2), proto: 17)
        var reply = [UInt8](repeating: 0, count: 96)
        guard case let .reply(length) = Self.outbound(&packet, reply: &reply) else {
            Issue.record("expected an ICMP reply")
            return
        }
        #expect(length == 20 + 8 + 20 + 8)
        let answer = Array(reply[0..<length])
        #expect(Self.headerVerifies(answer))
        answer.withUnsafeBytes { bytes in
            #expect(InternetChecksum.verifies(UnsafeRawBufferPointer(rebasing: bytes[20...])))
        }
        #expect(answer[9] == 1)
        #expect((answer[20], answer[21]) == (3, 0))
        #expect(Array(answer[12..<16]) == [10, 1, 33, 0])  // from flannel0
        #expect(Array(answer[16..<20]) == [10, 1, 33, 2])  // to the sender
        #expect(Array(answer[28..<56]) == Array(packet[0..<28])) // offender's header + 8 bytes
    }

    @Test func neverAnswersICMPOrNonFirstFragmentsOrMalformedPackets() {
        var reply = [UInt8](repeating: 0, count: 96)
        var icmp = Self.ping(from: IPv4Address(10, 1, 33, 2), to: IPv4Address(10, 1, 99, 2))
        #expect(Self.outbound(&icmp, reply: &reply) == .drop(.noRoute))
        var fragment = Self.ping(from: IPv4Address(10, 1, 33, 2), to: IPv4Address(10, 1, 99, 2), proto: 17, fragmentOffset: 185)
        #expect(Self.outbound(&fragment, reply: &reply) == .drop(.noRoute))
        var short = [UInt8](repeating: 0x45, count: 19)
        #expect(Self.outbound(&short, reply: &reply) == .drop(.malformed))
        var ipv6 = Self.ping(from: IPv4Address(10, 1, 33, 2), to: IPv4Address(10, 1, 71, 2))
        ipv6[0] = 0x60
        #expect(Self.outbound(&ipv6, reply: &reply) == .drop(.malformed))
        var lying = Self.ping(from: IPv4Address(10, 1, 33, 2), to: IPv4Address(10, 1, 71, 2))
        lying[3] = 200 // total length beyond the bytes
        #expect(Self.outbound(&lying, reply: &reply) == .drop(.malformed))
    }

    @Test func ttlOfOneIsDroppedNotForwarded() {
        var packet = Self.ping(from: IPv4Address(10, 1, 33, 2), to: IPv4Address(10, 1, 71, 2), ttl: 1)
        var reply = [UInt8](repeating: 0, count: 96)
        #expect(Self.outbound(&packet, reply: &reply) == .drop(.ttlExpired))
        #expect(packet[8] == 1)
    }

    @Test func inboundDropsNonPeersOversizedAndGarbage() {
        var packet = Self.ping(from: IPv4Address(10, 1, 71, 2), to: IPv4Address(10, 1, 33, 2))
        #expect(Self.inbound(&packet, from: IPv4Address(203, 0, 113, 9)) == .drop(.notFromPeer))
        var big = Self.ping(from: IPv4Address(10, 1, 71, 2), to: IPv4Address(10, 1, 33, 2), payload: 1500)
        #expect(Self.inbound(&big, from: IPv4Address(10, 12, 10, 193)) == .drop(.oversized))
        var garbage: [UInt8] = Array("hello, flannel".utf8) + [UInt8](repeating: 0, count: 20)
        #expect(Self.inbound(&garbage, from: IPv4Address(10, 12, 10, 193)) == .drop(.malformed))
    }

    /// A datagram from a peer's address may carry only that peer's containers' packets to
    /// ours: the forgeries a host on the underlay can send are each dropped for their reason.
    @Test func inboundDropsForgedPacketsFromAPeersAddress() {
        let peer = IPv4Address(10, 12, 10, 193)  // holds 10.1.71.0/24
        var honest = Self.ping(from: IPv4Address(10, 1, 71, 2), to: IPv4Address(10, 1, 33, 2))
        #expect(Self.inbound(&honest, from: peer) == .deliver)
        let forgeries: [(String, [UInt8], UInt16, UDPEncapsulation.DropReason)] = [
            ("to the metadata service", Self.ping(from: IPv4Address(10, 1, 71, 2), to: IPv4Address(169, 254, 169, 254)), 8285, .notForUs),
            ("to the host's own underlay address", Self.ping(from: IPv4Address(10, 1, 71, 2), to: IPv4Address(10, 12, 10, 201)), 8285, .notForUs),
            ("to the broadcast address", Self.ping(from: IPv4Address(10, 1, 71, 2), to: IPv4Address(255, 255, 255, 255)), 8285, .notForUs),
            ("through us to another peer", Self.ping(from: IPv4Address(10, 1, 71, 2), to: IPv4Address(10, 1, 82, 2)), 8285, .notForUs),
            ("from another peer's subnet", Self.ping(from: IPv4Address(10, 1, 82, 2), to: IPv4Address(10, 1, 33, 2)), 8285, .spoofedSource),
            ("from our own subnet", Self.ping(from: IPv4Address(10, 1, 33, 9), to: IPv4Address(10, 1, 33, 2)), 8285, .spoofedSource),
            ("from outside the network", Self.ping(from: IPv4Address(10, 7, 0, 9), to: IPv4Address(10, 1, 33, 2)), 8285, .spoofedSource),
            ("from another port", Self.ping(from: IPv4Address(10, 1, 71, 2), to: IPv4Address(10, 1, 33, 2)), 40000, .wrongSourcePort),
        ]
        for (what, packet, port, reason) in forgeries {
            var bytes = packet
            #expect(Self.inbound(&bytes, from: peer, port: port) == .drop(reason), "\(what)")
            #expect(bytes == packet, "\(what): a dropped packet is not touched")
        }
    }

    /// The incremental checksum fix equals a full recomputation, for every TTL and any header.
    @Test(arguments: 0..<50)
    func incrementalChecksumMatchesRecomputation(seed: Int) {
        var generator = SeededGenerator(seed: UInt64(seed))
        var packet = Self.ping(from: IPv4Address(bits: .random(in: 0...UInt32.max, using: &generator)),
                               to: IPv4Address(bits: .random(in: 0...UInt32.max, using: &generator)),
                               ttl: .random(in: 2...255, using: &generator))
        packet[4] = .random(in: 0...255, using: &generator)
        packet[5] = .random(in: 0...255, using: &generator)
        packet[10] = 0; packet[11] = 0
        let full = packet.withUnsafeBytes { InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<20])) }
        packet[10] = UInt8(full >> 8); packet[11] = UInt8(full & 0xFF)
        let decremented = packet.withUnsafeMutableBytes { IPv4Packet($0).decrementTTL() }
        #expect(decremented)
        #expect(Self.headerVerifies(packet))
    }

    @Test func longestPrefixWins() {
        let routes = PeerRoutes([
            Peer(key: SubnetKey(IPv4Network("10.1.0.0/16")!), attributes: LeaseAttributes(publicIP: IPv4Address(192, 0, 2, 1))),
            Peer(key: SubnetKey(IPv4Network("10.1.5.0/24")!), attributes: LeaseAttributes(publicIP: IPv4Address(192, 0, 2, 2))),
        ])
        #expect(routes.publicIP(for: IPv4Address(10, 1, 5, 9)) == IPv4Address(192, 0, 2, 2))
        #expect(routes.publicIP(for: IPv4Address(10, 1, 6, 9)) == IPv4Address(192, 0, 2, 1))
        #expect(routes.publicIP(for: IPv4Address(10, 2, 0, 1)) == nil)
        #expect(routes.isPeer(IPv4Address(192, 0, 2, 2)))
    }

    /// The scan (up to 16 peers) and the dictionary (more) give what a brute-force longest
    /// prefix match gives, over random tables of mixed prefix lengths.
    @Test func theScanAndTheDictionaryAgreeWithBruteForce() {
        var generator = SeededGenerator(seed: 77)
        for round in 0..<300 {
            let count = round % 2 == 0 ? Int.random(in: 0...16, using: &generator) : Int.random(in: 17...60, using: &generator)
            let peers = (0..<count).map { _ in
                let length = [16, 20, 24, 24, 24, 28].randomElement(using: &generator)!
                let subnet = IPv4Network(address: IPv4Address(bits: 0x0A01_0000 | UInt32.random(in: 0...0xFFFF, using: &generator)), prefixLength: length)
                return Peer(key: SubnetKey(subnet), attributes: LeaseAttributes(publicIP: IPv4Address(bits: 0xC000_0200 | UInt32.random(in: 1...250, using: &generator))))
            }
            let routes = PeerRoutes(peers)
            // Later peers for one subnet replace earlier ones, as in the table.
            var table: [IPv4Network: IPv4Address] = [:]
            for peer in peers { if let subnet = peer.subnet { table[subnet] = peer.publicIP } }
            for _ in 0..<50 {
                let destination = IPv4Address(bits: 0x0A01_0000 | UInt32.random(in: 0...0xFFFF, using: &generator))
                let expected = table.filter { $0.key.contains(destination) }.max { $0.key.prefixLength < $1.key.prefixLength }?.value
                #expect(routes.publicIP(for: destination) == expected, "\(destination) in \(table)")
                let sender = IPv4Address(bits: 0xC000_0200 | UInt32.random(in: 1...250, using: &generator))
                #expect(routes.isPeer(sender) == table.values.contains(sender))
            }
        }
    }
}
