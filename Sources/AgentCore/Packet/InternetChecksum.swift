/// The Internet checksum (RFC 1071) and its incremental update (RFC 1624), over raw bytes.
public enum InternetChecksum {
    /// The one's-complement sum of `bytes` folded to 16 bits, not yet complemented.
    /// Summed eight bytes at a time as two 32-bit halves into four independent accumulators,
    /// in the host's byte order and swapped at the end (RFC 1071 §2(B), §2(C)): the data path
    /// sums every byte of every segment it makes.
    public static func sum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return fold(UInt64(initial)) }
        return summing(base, bytes.count, initial: initial, copyingTo: nil)
    }

    /// Copies `bytes` to `destination` and returns their `sum` in the same pass (the segmenter
    /// and the coalescer copy each payload they checksum: one read of it instead of two).
    public static func copyingSum(_ bytes: UnsafeRawBufferPointer, to destination: UnsafeMutableRawPointer, initial: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return fold(UInt64(initial)) }
        return summing(base, bytes.count, initial: initial, copyingTo: destination)
    }

    /// The loop of `sum`, storing each word it loads at `destination` when there is one.
    @inline(__always)
    private static func summing(_ base: UnsafeRawPointer, _ count: Int, initial: UInt32, copyingTo destination: UnsafeMutableRawPointer?) -> UInt32 {
        var first: UInt64 = 0, second: UInt64 = 0, third: UInt64 = 0, fourth: UInt64 = 0
        var index = 0
        while index + 32 <= count {
            let word0 = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            let word1 = base.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self)
            let word2 = base.loadUnaligned(fromByteOffset: index + 16, as: UInt64.self)
            let word3 = base.loadUnaligned(fromByteOffset: index + 24, as: UInt64.self)
            if let destination {
                destination.storeBytes(of: word0, toByteOffset: index, as: UInt64.self)
                destination.storeBytes(of: word1, toByteOffset: index + 8, as: UInt64.self)
                destination.storeBytes(of: word2, toByteOffset: index + 16, as: UInt64.self)
                destination.storeBytes(of: word3, toByteOffset: index + 24, as: UInt64.self)
            }
            first &+= (word0 & 0xFFFF_FFFF) &+ (word0 >> 32)
            second &+= (word1 & 0xFFFF_FFFF) &+ (word1 >> 32)
            third &+= (word2 & 0xFFFF_FFFF) &+ (word2 >> 32)
            fourth &+= (word3 & 0xFFFF_FFFF) &+ (word3 >> 32)
            index += 32
        }
        if let destination, index < count { (destination + index).copyMemory(from: base + index, byteCount: count - index) }
        // Each accumulator takes under 2^33 per 32 bytes: no overflow below 2^35 bytes (packets are 64 KB at most).
        var native = first &+ second &+ third &+ fourth
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
    @inline(__always)
    public static func updated(_ checksum: UInt16, oldWord old: UInt16, newWord new: UInt16) -> UInt16 {
        var total = UInt32(~checksum) &+ UInt32(~old) &+ UInt32(new)
        while total >> 16 != 0 { total = (total & 0xFFFF) &+ (total >> 16) }
        return ~UInt16(truncatingIfNeeded: total)
    }
}
