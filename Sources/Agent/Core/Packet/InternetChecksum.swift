/// The Internet checksum (RFC 1071) and its incremental update (RFC 1624), over raw bytes.
public enum InternetChecksum {
    /// The one's-complement sum of `bytes` folded to 16 bits, not yet complemented.
    /// Summed four bytes at a time in the host's byte order and swapped at the end (RFC 1071
    /// §2(B)): the data path sums every byte of every segment it makes.
    public static func sum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return fold(UInt64(initial)) }
        let count = bytes.count
        var native: UInt64 = 0
        var index = 0
        while index + 16 <= count {
            native &+= UInt64(base.loadUnaligned(fromByteOffset: index, as: UInt32.self))
                &+ UInt64(base.loadUnaligned(fromByteOffset: index + 4, as: UInt32.self))
                &+ UInt64(base.loadUnaligned(fromByteOffset: index + 8, as: UInt32.self))
                &+ UInt64(base.loadUnaligned(fromByteOffset: index + 12, as: UInt32.self))
            index += 16
        }
        while index + 4 <= count {
            native &+= UInt64(base.loadUnaligned(fromByteOffset: index, as: UInt32.self))
            index += 4
        }
        while index + 2 <= count {
            native &+= UInt64(base.loadUnaligned(fromByteOffset: index, as: UInt16.self))
            index += 2
        }
        #if _endian(little)
        if index < count { native &+= UInt64(base.load(fromByteOffset: index, as: UInt8.self)) }
        let networkOrder = UInt16(truncatingIfNeeded: fold(native)).byteSwapped
        #else
        if index < count { native &+= UInt64(base.load(fromByteOffset: index, as: UInt8.self)) << 8 }
        let networkOrder = UInt16(truncatingIfNeeded: fold(native))
        #endif
        return fold(UInt64(networkOrder) &+ UInt64(initial))
    }

    /// Folds carries until 16 bits remain.
    static func fold(_ value: UInt64) -> UInt32 {
        var total = value
        while total >> 16 != 0 { total = (total & 0xFFFF) &+ (total >> 16) }
        return UInt32(total)
    }

    /// The sum of the TCP/UDP pseudo-header (RFC 793): addresses, protocol, transport length.
    public static func pseudoHeaderSum(source: IPv4Address, destination: IPv4Address, proto: UInt8, length: Int) -> UInt32 {
        let total = UInt64(source.bits >> 16) + UInt64(source.bits & 0xFFFF) + UInt64(destination.bits >> 16)
            + UInt64(destination.bits & 0xFFFF) + UInt64(proto) + UInt64(length)
        return fold(total)
    }

    /// The checksum to store in a header whose checksum field is zero while summing.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        ~UInt16(truncatingIfNeeded: sum(bytes))
    }

    /// Whether `bytes` (with their checksum field in place) verify.
    public static func verifies(_ bytes: UnsafeRawBufferPointer) -> Bool {
        sum(bytes) == 0xFFFF
    }

    /// RFC 1624 eqn. 3: the new checksum after one 16-bit word changed from `old` to `new`.
    public static func updated(_ checksum: UInt16, oldWord old: UInt16, newWord new: UInt16) -> UInt16 {
        var total = UInt32(~checksum) &+ UInt32(~old) &+ UInt32(new)
        while total >> 16 != 0 { total = (total & 0xFFFF) &+ (total >> 16) }
        return ~UInt16(truncatingIfNeeded: total)
    }
}
