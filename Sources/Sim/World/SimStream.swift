/// One simulated TCP stream, one way and without retransmission: what the sending container
/// handed its kernel, what the underlay carried, and what the receiving container got, byte
/// by byte. A delivered packet whose checksums fail, or whose bytes are not the stream's bytes
/// at its sequence number, counts as corrupt.
public struct SimStream: Sendable, Equatable, CustomStringConvertible {
    public let bytes: Int
    /// TCP packets the sending container's kernel handed on (super-packets with TSO).
    public internal(set) var superPackets = 0
    /// UDP (or vxlan) datagrams the underlay carried while the stream ran.
    public internal(set) var datagrams = 0
    /// TCP packets the receiving container got (joined ones count once).
    public internal(set) var packetsDelivered = 0
    public internal(set) var corruptPackets = 0
    /// Payload bytes of the largest packet delivered.
    public internal(set) var largestDelivered = 0
    /// Distinct stream bytes delivered intact.
    public internal(set) var bytesDelivered = 0
    private var received: [Bool]

    /// The stream's first sequence number.
    static let initialSequence: UInt32 = 1

    init(bytes: Int) {
        self.bytes = bytes
        received = Array(repeating: false, count: bytes)
    }

    public var isComplete: Bool { bytesDelivered == bytes }

    /// Bytes delivered from the start without a hole.
    public var contiguousBytes: Int { received.firstIndex(of: false) ?? bytes }

    public var description: String {
        "\(bytesDelivered) of \(bytes) bytes (\(contiguousBytes) contiguous) in \(packetsDelivered) packets (largest \(largestDelivered) B, "
            + "\(corruptPackets) corrupt), sent as \(superPackets) packets, \(datagrams) datagrams"
    }

    /// A TCP packet of this stream reached the receiving container.
    mutating func accept(_ packet: [UInt8]) {
        packetsDelivered += 1
        let headerLength = 20 + Int(packet[32] >> 4) * 4
        guard headerLength <= packet.count else {
            corruptPackets += 1
            return
        }
        let offset = Int(SimPacket.get32(packet, 24) &- Self.initialSequence)
        let payload = packet[headerLength...]
        guard SimPacket.tcpChecksumsVerify(packet), offset >= 0, offset + payload.count <= bytes,
              payload.enumerated().allSatisfy({ $0.element == SimPacket.streamByte(offset + $0.offset) }) else {
            corruptPackets += 1
            return
        }
        largestDelivered = max(largestDelivered, payload.count)
        for index in offset..<(offset + payload.count) where !received[index] {
            received[index] = true
            bytesDelivered += 1
        }
    }
}
