/// Read and patch an IPv4 packet in place, over raw bytes (no copies, no allocation): what
/// the udp backend needs from the header.
public struct IPv4Packet {
    public let bytes: UnsafeMutableRawBufferPointer

    public init(_ bytes: UnsafeMutableRawBufferPointer) { self.bytes = bytes }

    public static let minimumHeaderLength = 20

    /// Why a packet is not a usable IPv4 packet.
    public enum Malformation: Equatable, Sendable {
        case tooShort
        case notIPv4
        case badHeaderLength
        case badTotalLength
    }

    /// Checks the header's shape: long enough, version 4, IHL ≥ 5 and within the bytes,
    /// total length covering the header and not beyond the bytes.
    @inline(__always)
    public func validate() -> Malformation? {
        guard bytes.count >= Self.minimumHeaderLength else { return .tooShort }
        guard bytes[0] >> 4 == 4 else { return .notIPv4 }
        guard headerLength >= Self.minimumHeaderLength, headerLength <= bytes.count else { return .badHeaderLength }
        guard totalLength >= headerLength, totalLength <= bytes.count else { return .badTotalLength }
        return nil
    }

    public var headerLength: Int { Int(bytes[0] & 0x0F) * 4 }
    public var totalLength: Int { Int(word(at: 2)) }
    public var ttl: UInt8 { bytes[8] }
    public var proto: UInt8 { bytes[9] }
    public var source: IPv4Address { IPv4Address(bits: UInt32(word(at: 12)) << 16 | UInt32(word(at: 14))) }
    public var destination: IPv4Address { IPv4Address(bits: UInt32(word(at: 16)) << 16 | UInt32(word(at: 18))) }
    /// Fragment offset non-zero: not the first fragment.
    public var isNonFirstFragment: Bool { word(at: 6) & 0x1FFF != 0 }
    public var headerChecksum: UInt16 { word(at: 10) }

    public static let icmpProtocol: UInt8 = 1

    /// Decrements the TTL and fixes the header checksum incrementally (RFC 1624). Returns
    /// false, changing nothing, when the TTL would reach 0: the packet must be dropped.
    @inline(__always)
    public func decrementTTL() -> Bool {
        let oldTTL = bytes[8]
        guard oldTTL > 1 else { return false }
        let oldWord = word(at: 8)
        bytes[8] = oldTTL - 1
        let newWord = word(at: 8)
        setWord(InternetChecksum.updated(headerChecksum, oldWord: oldWord, newWord: newWord), at: 10)
        return true
    }

    func word(at offset: Int) -> UInt16 { UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]) }

    func setWord(_ value: UInt16, at offset: Int) {
        bytes[offset] = UInt8(value >> 8)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value)
    }
}
