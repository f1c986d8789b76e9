/// One netlink request being built: the 16-byte header, a fixed family header (ifinfomsg,
/// rtmsg, ndmsg, ...) and attributes, all in host byte order and 4-byte aligned as
/// rtnetlink expects. Encoding only; the kernel's answers are read by `NetlinkAttributes`.
struct NetlinkMessage {
    private(set) var bytes: [UInt8]
    /// Offsets of nested attributes still open, whose lengths are patched on close.
    private var openNests: [Int] = []

    init(type: Int, flags: Int32, sequence: UInt32) {
        bytes = []
        append(UInt32(0))  // length, patched in `finished`
        append(UInt16(type))
        append(UInt16(truncatingIfNeeded: flags))
        append(sequence)
        append(UInt32(0))  // port id: the kernel fills in ours
    }

    mutating func append(_ value: UInt8) { bytes.append(value) }
    mutating func append(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func append(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func append(_ value: Int32) { append(UInt32(bitPattern: value)) }
    mutating func append(bytes more: [UInt8]) { bytes += more }

    /// An attribute: 2-byte length, 2-byte type, payload, padding to 4.
    mutating func attribute(_ type: Int, _ payload: [UInt8]) {
        append(UInt16(4 + payload.count))
        append(UInt16(type))
        bytes += payload
        pad()
    }

    mutating func attribute(_ type: Int, u32 value: UInt32) {
        attribute(type, withUnsafeBytes(of: value.littleEndian) { Array($0) })
    }

    mutating func attribute(_ type: Int, u8 value: UInt8) { attribute(type, [value]) }

    mutating func attribute(_ type: Int, u16 value: UInt16) {
        attribute(type, withUnsafeBytes(of: value.littleEndian) { Array($0) })
    }

    /// A big-endian 16-bit value (ports).
    mutating func attribute(_ type: Int, be16 value: UInt16) {
        attribute(type, withUnsafeBytes(of: value.bigEndian) { Array($0) })
    }

    mutating func attribute(_ type: Int, ipv4 address: IPv4Address) {
        attribute(type, address: address)
    }

    mutating func attribute(_ type: Int, address: some NetlinkAddress) {
        attribute(type, address.netlinkBytes)
    }

    mutating func attribute(_ type: Int, string: String) { attribute(type, Array(string.utf8) + [0]) }

    mutating func beginNested(_ type: Int) {
        openNests.append(bytes.count)
        append(UInt16(0))
        append(UInt16(type))
    }

    mutating func endNested() {
        let start = openNests.removeLast()
        let length = UInt16(bytes.count - start)
        bytes[start] = UInt8(length & 0xff)
        bytes[start + 1] = UInt8(length >> 8)
    }

    private mutating func pad() {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }

    /// The message with its length filled in.
    var finished: [UInt8] {
        var result = bytes
        let length = UInt32(result.count)
        for index in 0..<4 { result[index] = UInt8((length >> (8 * UInt32(index))) & 0xff) }
        return result
    }
}
