/// The messages in one netlink datagram, every bound checked: a message shorter than its
/// 16-byte header or longer than what is left ends the walk.
struct NetlinkFrames: Sequence, IteratorProtocol {
    struct Frame: Equatable {
        var type: Int
        var flags: Int
        var sequence: UInt32
        var payload: ArraySlice<UInt8>
    }

    let bytes: ArraySlice<UInt8>
    private var offset: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        offset = bytes.startIndex
    }

    mutating func next() -> Frame? {
        guard bytes.endIndex - offset >= 16 else { return nil }
        let length = Int(NetlinkAttributes.u32(bytes, offset) ?? 0)
        guard length >= 16, length <= bytes.endIndex - offset else {
            offset = bytes.endIndex
            return nil
        }
        let frame = Frame(type: Int(NetlinkAttributes.u16(bytes, offset + 4) ?? 0),
                          flags: Int(NetlinkAttributes.u16(bytes, offset + 6) ?? 0),
                          sequence: NetlinkAttributes.u32(bytes, offset + 8) ?? 0,
                          payload: bytes[(offset + 16)..<(offset + length)])
        // Past the end when the last message is not padded: the next call ends the walk.
        offset += Swift.min((length + 3) & ~3, bytes.endIndex - offset)
        return frame
    }

    /// NLM_F_CAPPED, NLM_F_ACK_TLVS and NLMSGERR_ATTR_MSG (linux/netlink.h; kernel ABI).
    static let capped = 0x100, ackTLVs = 0x200, messageAttribute = 1

    /// The kernel's text in an extended ack: after the error code and, for NLMSG_ERROR, the
    /// echoed request (its header only when capped); NLMSG_DONE echoes nothing.
    static func extendedAckMessage(_ payload: ArraySlice<UInt8>, flags: Int, echoedRequest: Bool) -> String? {
        guard flags & ackTLVs != 0 else { return nil }
        let echoed = !echoedRequest ? 0 : flags & capped != 0 ? 16
            : Int(NetlinkAttributes.u32(payload, payload.startIndex + 4) ?? 16)
        guard echoed <= payload.endIndex - payload.startIndex - 4 else { return nil }
        return NetlinkAttributes(payload[(payload.startIndex + 4 + echoed)...]).string(messageAttribute)
    }
}
