import AgentCore

/// A simulated udp proxy's receive-side joining: the real `TCPCoalescer` over the datagrams
/// that arrive at one instant (the simulator's receive batch), flushed into one TSO write to
/// flannel0 once that instant's arrivals are in, as the real proxy flushes when its socket
/// queue is empty.
final class SimSegmentJoiner {
    var coalescer = TCPCoalescer()
    var buffer = [UInt8](repeating: 0, count: TCPCoalescer.packetOffset + 65_536)
    var flushScheduled = false

    /// Joins `packet` to the open packet; false when it does not continue it.
    func append(_ packet: [UInt8]) -> Bool {
        packet.withUnsafeBytes { packet in buffer.withUnsafeMutableBytes { coalescer.append(packet, buffer: $0) } }
    }

    /// Opens a packet with `packet`; false when it cannot be joined to anything (not TCP, a
    /// flag that travels alone).
    func start(_ packet: [UInt8]) -> Bool {
        packet.withUnsafeBytes { packet in buffer.withUnsafeMutableBytes { coalescer.start(packet, buffer: $0) } }
    }

    /// The joined packet (vnet header, packet), if one is open.
    func finish() -> (VirtioNetHeader, [UInt8])? {
        let length = buffer.withUnsafeMutableBytes { coalescer.finish(buffer: $0) }
        guard length > 0, let header = buffer.withUnsafeBytes({ VirtioNetHeader(UnsafeRawBufferPointer(rebasing: $0[0..<TCPCoalescer.packetOffset])) }) else {
            return nil
        }
        return (header, Array(buffer[TCPCoalescer.packetOffset..<length]))
    }

    /// The process died: what was held is gone (`SimWorld.stopAgent`).
    func discard() {
        coalescer = TCPCoalescer()
        flushScheduled = false
    }
}
