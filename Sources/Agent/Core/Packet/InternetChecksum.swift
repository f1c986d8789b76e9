/// The Internet checksum (RFC 1071) and its incremental update (RFC 1624), over raw bytes.
public enum InternetChecksum {
    /// The one's-complement sum of `bytes` folded to 16 bits, not yet complemented.
    public static func sum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        var total = initial
        var index = 0
        let count = bytes.count
        while index + 1 < count {
            total &+= UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < count { total &+= UInt32(bytes[index]) << 8 }
        while total >> 16 != 0 { total = (total & 0xFFFF) &+ (total >> 16) }
        return total
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
