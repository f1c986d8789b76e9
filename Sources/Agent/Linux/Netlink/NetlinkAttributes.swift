/// Reads a netlink answer: fixed headers at known offsets and the attribute list after them
/// (nested lists too). Bounds are checked everywhere: a short or odd message yields nil
/// values, never a crash.
struct NetlinkAttributes {
    /// Attribute payloads by type (the last one wins, as the kernel sends each once).
    private(set) var payloads: [Int: ArraySlice<UInt8>] = [:]

    init(_ bytes: ArraySlice<UInt8>) {
        var offset = bytes.startIndex
        while offset + 4 <= bytes.endIndex {
            let length = Int(Self.u16(bytes, offset) ?? 0)
            let type = Int(Self.u16(bytes, offset + 2) ?? 0) & 0x3fff  // without NLA_F_NESTED/BYTEORDER
            guard length >= 4, offset + length <= bytes.endIndex else { break }
            payloads[type] = bytes[(offset + 4)..<(offset + length)]
            offset += (length + 3) & ~3
        }
    }

    subscript(type: Int) -> ArraySlice<UInt8>? { payloads[type] }

    /// Every attribute in order, repeats kept: the elements of a nested list (peers, allowed IPs).
    static func list(_ bytes: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var elements: [ArraySlice<UInt8>] = []
        var offset = bytes.startIndex
        while offset + 4 <= bytes.endIndex {
            let length = Int(u16(bytes, offset) ?? 0)
            guard length >= 4, offset + length <= bytes.endIndex else { break }
            elements.append(bytes[(offset + 4)..<(offset + length)])
            offset += (length + 3) & ~3
        }
        return elements
    }

    func nested(_ type: Int) -> NetlinkAttributes? { payloads[type].map { NetlinkAttributes($0) } }

    func u32(_ type: Int) -> UInt32? { payloads[type].flatMap { Self.u32($0, $0.startIndex) } }

    func u8(_ type: Int) -> UInt8? { payloads[type]?.first }

    func be16(_ type: Int) -> UInt16? {
        guard let payload = payloads[type], payload.count >= 2 else { return nil }
        return UInt16(payload[payload.startIndex]) << 8 | UInt16(payload[payload.startIndex + 1])
    }

    func ipv4(_ type: Int) -> IPv4Address? { address(type) }

    /// An address of the family the caller expects (nil when the payload is another size).
    func address<Address: NetlinkAddress>(_ type: Int, as family: Address.Type = Address.self) -> Address? {
        payloads[type].flatMap { Address(netlinkBytes: $0) }
    }

    func string(_ type: Int) -> String? {
        guard let payload = payloads[type] else { return nil }
        return String(decoding: payload.prefix { $0 != 0 }, as: UTF8.self)
    }

    func mac(_ type: Int) -> MACAddress? { payloads[type].flatMap { MACAddress(bytes: Array($0)) } }

    static func u16(_ bytes: ArraySlice<UInt8>, _ offset: Int) -> UInt16? {
        guard offset >= bytes.startIndex, offset + 2 <= bytes.endIndex else { return nil }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    static func u32(_ bytes: ArraySlice<UInt8>, _ offset: Int) -> UInt32? {
        guard offset >= bytes.startIndex, offset + 4 <= bytes.endIndex else { return nil }
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }
}
