/// `netlink-attributes`: the kernel's rtnetlink answers as the agent reads them:
/// `NetlinkAttributes` (compiled from Sources/Agent/Linux/Netlink/NetlinkAttributes.swift
/// itself), the datagram walk and extended-ack reading of `NetlinkSocket.receive`
/// (`NetlinkFrames`, what `NetlinkSocket.receive` walks), and, for the round trip, `NetlinkMessage`
/// (compiled from NetlinkMessage.swift).
///
/// Raw mode: bytes as a datagram (at a non-zero slice offset, as the socket's buffer gives
/// them). Checked: the walks end; every frame and attribute payload lies inside the bytes it
/// was read from and after its header; the attributes are those a plain reference walk finds
/// (last of a type wins, the type without its two flag bits); nested lists (four levels) and
/// every accessor read without trapping; an extended-ack text comes from inside the payload.
/// Built mode: attributes (nested ones too) written with `NetlinkMessage` read back as written.
enum NetlinkFuzz {
    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzReader(data)
        let mode = input.byte()
        if mode & 1 == 0 {
            // The bytes at an offset inside a larger array: slices keep their indices.
            let lead = Int(mode >> 1)
            let all = [UInt8](repeating: 0xEE, count: lead) + input.rest() + [0xEE, 0xEE, 0xEE]
            let bytes = all[lead..<(all.count - 3)]
            checkAttributes(bytes, depth: 0)
            checkFrames(bytes)
        } else {
            built(&input)
        }
    }

    /// The walk written out plainly.
    static func referenceAttributes(_ bytes: ArraySlice<UInt8>) -> [Int: ArraySlice<UInt8>] {
        var result: [Int: ArraySlice<UInt8>] = [:]
        var offset = bytes.startIndex
        while bytes.endIndex - offset >= 4 {
            let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
            let type = (Int(bytes[offset + 2]) | Int(bytes[offset + 3]) << 8) & 0x3FFF
            guard length >= 4, length <= bytes.endIndex - offset else { break }
            result[type] = bytes[(offset + 4)..<(offset + length)]
            offset += (length + 3) / 4 * 4
        }
        return result
    }

    static func checkAttributes(_ bytes: ArraySlice<UInt8>, depth: Int) {
        let attributes = NetlinkAttributes(bytes)
        let reference = referenceAttributes(bytes)
        check(Set(attributes.payloads.keys) == Set(reference.keys), "attribute types \(attributes.payloads.keys.sorted()) vs \(reference.keys.sorted())")
        for (type, payload) in attributes.payloads {
            check(payload.startIndex >= bytes.startIndex + 4 && payload.endIndex <= bytes.endIndex,
                  "attribute \(type) at \(payload.startIndex)..<\(payload.endIndex) outside \(bytes.startIndex)..<\(bytes.endIndex)")
            let expected = reference[type]!
            check(payload.startIndex == expected.startIndex && payload.endIndex == expected.endIndex, "attribute \(type) payload bounds")
            check(attributes[type] == payload, "subscript")
            _ = attributes.u32(type); _ = attributes.u8(type); _ = attributes.be16(type)
            _ = attributes.ipv4(type); _ = attributes.string(type)
            if let mac = attributes.mac(type) { check(payload.count == 6 && mac.bytes == Array(payload), "mac of \(payload.count) bytes") }
            if let value = attributes.u32(type) { check(payload.count >= 4 && value == NetlinkAttributes.u32(payload, payload.startIndex), "u32") }
            if depth < 4 { checkAttributes(payload, depth: depth + 1) }
        }
        // Field reads anywhere, in and out of range.
        for offset in [bytes.startIndex - 1, bytes.startIndex, bytes.endIndex - 4, bytes.endIndex - 2, bytes.endIndex - 1, bytes.endIndex] {
            if let value = NetlinkAttributes.u16(bytes, offset) { check(offset >= bytes.startIndex && offset + 2 <= bytes.endIndex, "u16 at \(offset): \(value)") }
            if let value = NetlinkAttributes.u32(bytes, offset) { check(offset >= bytes.startIndex && offset + 4 <= bytes.endIndex, "u32 at \(offset): \(value)") }
        }
    }

    static func checkFrames(_ bytes: ArraySlice<UInt8>) {
        var previousEnd = bytes.startIndex
        var count = 0
        for frame in NetlinkFrames(bytes) {
            count += 1
            check(count <= bytes.count / 16, "more frames than the bytes can hold")
            check(frame.payload.startIndex >= previousEnd + 16 && frame.payload.endIndex <= bytes.endIndex,
                  "frame payload \(frame.payload.startIndex)..<\(frame.payload.endIndex) outside the datagram")
            previousEnd = frame.payload.endIndex
            for echoed in [true, false] {
                if let message = NetlinkFrames.extendedAckMessage(frame.payload, flags: frame.flags, echoedRequest: echoed) {
                    // Each payload byte makes at most one scalar (an invalid one, U+FFFD).
                    check(message.unicodeScalars.count <= frame.payload.count, "an extended-ack text longer than its payload")
                }
            }
            if count <= 4 { checkAttributes(frame.payload.dropFirst(min(frame.payload.count, 16)), depth: 2) }
        }
    }

    /// Attributes written with `NetlinkMessage` read back as written, nested lists included.
    static func built(_ input: inout FuzzReader) {
        var message = NetlinkMessage(type: Int(input.u16()), flags: Int32(bitPattern: input.u32()), sequence: input.u32())
        var written: [Int: [UInt8]] = [:]
        var nested: [Int: [Int: [UInt8]]] = [:]
        var openType: Int?
        var inner: [Int: [UInt8]] = [:]
        for _ in 0..<input.int(in: 0...24) where !input.isEmpty {
            let type = Int(input.u16() & 0x3FFF)
            let flagBits = Int(input.byte() & 0xC0) << 8  // NLA_F_NESTED / NLA_F_NET_BYTEORDER
            switch input.byte() % 8 {
            case 0 where openType == nil:
                message.beginNested(type | flagBits)
                openType = type
                inner = [:]
            case 1:
                if let open = openType {
                    message.endNested()
                    nested[open] = inner
                    written[open] = nil  // the nested list's bytes are checked through `nested`
                    openType = nil
                }
            default:
                // NetlinkMessage builds our own requests: lengths beyond 16 bits are not its
                // input (they would trap there, by design).
                let payload = Array(input.chunk().prefix(1_000))
                message.attribute(type | flagBits, payload)
                if openType != nil { inner[type] = payload } else { written[type] = payload; nested[type] = nil }
            }
        }
        if let open = openType {
            message.endNested()
            nested[open] = inner
            written[open] = nil
        }
        let bytes = message.finished
        check(Int(NetlinkAttributes.u32(bytes[...], 0) ?? 0) == bytes.count && bytes.count % 4 == 0, "the message length field")
        let frames = Array(NetlinkFrames(bytes[...]))
        check(frames.count == 1 && frames[0].payload.count == bytes.count - 16, "the message is not one frame")
        let attributes = NetlinkAttributes(bytes[16...])
        for (type, payload) in written {
            check(attributes[type].map(Array.init) == payload, "attribute \(type) read back as \(hex(attributes[type] ?? []))")
        }
        for (type, members) in nested {
            guard let list = attributes.nested(type) else { fuzzFailure("nested attribute \(type) is missing") }
            for (innerType, payload) in members {
                check(list[innerType].map(Array.init) == payload, "nested attribute \(type).\(innerType)")
            }
        }
        check(Set(attributes.payloads.keys) == Set(written.keys).union(nested.keys), "attribute types read back")
    }
}
