/// The header a TUN device opened with IFF_VNET_HDR puts before every packet (struct
/// virtio_net_hdr, 10 bytes, little-endian on the hosts we run on): whether the packet is a
/// TCP super-packet to be cut into `gsoSize`-byte segments, and whether its transport
/// checksum is still to be completed.
public struct VirtioNetHeader: Equatable, Sendable {
    public static let size = 10
    /// The checksum at `checksumStart + checksumOffset` holds only the pseudo-header sum.
    public static let needsChecksum: UInt8 = 1
    public static let gsoNone: UInt8 = 0
    public static let gsoTCPv4: UInt8 = 1
    public static let gsoECN: UInt8 = 0x80

    public var flags: UInt8
    public var gsoType: UInt8
    /// Length of the headers (IP + TCP) of a super-packet.
    public var headerLength: UInt16
    /// Payload bytes per segment.
    public var gsoSize: UInt16
    public var checksumStart: UInt16
    public var checksumOffset: UInt16

    public init(flags: UInt8 = 0, gsoType: UInt8 = 0, headerLength: UInt16 = 0, gsoSize: UInt16 = 0,
                checksumStart: UInt16 = 0, checksumOffset: UInt16 = 0) {
        self.flags = flags
        self.gsoType = gsoType
        self.headerLength = headerLength
        self.gsoSize = gsoSize
        self.checksumStart = checksumStart
        self.checksumOffset = checksumOffset
    }

    /// A plain packet: nothing to cut, checksums complete.
    public static let plain = VirtioNetHeader()

    public var isTCPv4Super: Bool { gsoType & ~Self.gsoECN == Self.gsoTCPv4 }
    public var needsChecksumCompletion: Bool { flags & Self.needsChecksum != 0 }

    @inline(__always)
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.size else { return nil }
        func half(_ offset: Int) -> UInt16 { UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8 }
        self.init(flags: bytes[0], gsoType: bytes[1], headerLength: half(2), gsoSize: half(4),
                  checksumStart: half(6), checksumOffset: half(8))
    }

    public func write(to bytes: UnsafeMutableRawBufferPointer) {
        func half(_ value: UInt16, _ offset: Int) {
            bytes[offset] = UInt8(truncatingIfNeeded: value)
            bytes[offset + 1] = UInt8(value >> 8)
        }
        bytes[0] = flags
        bytes[1] = gsoType
        half(headerLength, 2)
        half(gsoSize, 4)
        half(checksumStart, 6)
        half(checksumOffset, 8)
    }
}
