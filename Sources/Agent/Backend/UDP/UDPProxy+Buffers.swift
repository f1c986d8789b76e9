#if canImport(Glibc)
import Glibc
#endif

/// What each forwarding thread works in, taken once from the thread's arena (and freed with
/// it). Each kind lists the sizes it takes, in the order `init(from:)` takes them, so an arena
/// sized from the list holds exactly that (a unit test checks the two agree).
extension UDPProxy {
    /// What one thread needs to read the TUN and send what it read.
    struct OutboundBuffers {
        let input: UnsafeMutableRawBufferPointer
        /// A super-packet's segments, each with its own headers: 64 KB of payload plus up to
        /// 120 bytes of headers per segment holds down to an MSS of 18 (the kernel's floor is 48).
        let segments: UnsafeMutableRawBufferPointer
        /// Starts zeroed: a plain vnet header before an ICMP reply.
        let reply: UnsafeMutableRawBufferPointer
        /// Single packets waiting for one sendmmsg: copies, `batchSlot` bytes apart.
        let batch: UnsafeMutableRawBufferPointer
        let batchLengths: UnsafeMutablePointer<Int32>
        let batchPeers: UnsafeMutablePointer<UInt32>

        static let inputBytes = VirtioNetHeader.size + 65_536
        static let segmentBytes = 8 * 65_536
        static let replyBytes = VirtioNetHeader.size + 128
        static let batchBytes = UDPProxy.sendBatch * UDPProxy.batchSlot
        /// In the order `init(from:)` takes them.
        static let sizes = [
            inputBytes, segmentBytes, replyBytes, batchBytes,
            UDPProxy.sendBatch * MemoryLayout<Int32>.stride, UDPProxy.sendBatch * MemoryLayout<UInt32>.stride,
        ]

        init(from arena: inout BufferArena) {
            input = arena.take(Self.inputBytes)
            segments = arena.take(Self.segmentBytes)
            reply = arena.take(Self.replyBytes)
            reply.initializeMemory(as: UInt8.self, repeating: 0)
            batch = arena.take(Self.batchBytes)
            batchLengths = arena.take(UDPProxy.sendBatch, of: Int32.self)
            batchPeers = arena.take(UDPProxy.sendBatch, of: UInt32.self)
        }
    }

    /// The inbound thread's: a batch of received messages, the coalescer's packet, and what it
    /// needs to serve the TUN too.
    struct InboundBuffers {
        /// `batch` messages, `messageStride` bytes apart, each after `messageLead` free bytes.
        let input: UnsafeMutableRawBufferPointer
        let lengths: UnsafeMutablePointer<Int32>
        let senders: UnsafeMutablePointer<UInt32>
        let senderPorts: UnsafeMutablePointer<UInt16>
        let segmentSizes: UnsafeMutablePointer<Int32>
        /// The packet `TCPCoalescer` joins segments into, after room for its vnet header.
        let joined: UnsafeMutableRawBufferPointer
        let outbound: OutboundBuffers
        /// The socket, the inbound wake-up and the TUN.
        let descriptors: UnsafeMutablePointer<pollfd>

        static let inputBytes = UDPProxy.batch * UDPProxy.messageStride
        static let joinedBytes = TCPCoalescer.packetOffset + 65_536
        /// In the order `init(from:)` takes them.
        static let sizes = [
            inputBytes, UDPProxy.batch * MemoryLayout<Int32>.stride, UDPProxy.batch * MemoryLayout<UInt32>.stride,
            UDPProxy.batch * MemoryLayout<UInt16>.stride, UDPProxy.batch * MemoryLayout<Int32>.stride, joinedBytes,
        ] + OutboundBuffers.sizes + [3 * MemoryLayout<pollfd>.stride]

        init(from arena: inout BufferArena) {
            input = arena.take(Self.inputBytes)
            lengths = arena.take(UDPProxy.batch, of: Int32.self)
            senders = arena.take(UDPProxy.batch, of: UInt32.self)
            senderPorts = arena.take(UDPProxy.batch, of: UInt16.self)
            segmentSizes = arena.take(UDPProxy.batch, of: Int32.self)
            joined = arena.take(Self.joinedBytes)
            outbound = OutboundBuffers(from: &arena)
            descriptors = arena.take(3, of: pollfd.self)
        }
    }
}
