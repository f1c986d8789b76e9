extension UDPProxy {
    /// One forwarding thread's counts not yet published: plain integers, one slot per drop
    /// reason, so counting a packet and publishing the counts touch no dictionary (nothing to
    /// hash or allocate on the data path, and fewer cache lines after an idle wake-up).
    struct Tally {
        var packetsOut = 0, bytesOut = 0, packetsIn = 0, bytesIn = 0, icmpReplies = 0
        /// Indexed by `slot(of:)`.
        var drops = InlineArray<7, Int>(repeating: 0)
        /// Updates since the last publication.
        var pending = 0

        /// Every drop reason, in slot order.
        static let reasons: [UDPEncapsulation.DropReason] = [
            .malformed, .ttlExpired, .noRoute, .oversized, .notFromPeer, .sendFailed, .tunWriteFailed,
        ]

        @inline(__always)
        static func slot(of reason: UDPEncapsulation.DropReason) -> Int {
            switch reason {
            case .malformed: 0
            case .ttlExpired: 1
            case .noRoute: 2
            case .oversized: 3
            case .notFromPeer: 4
            case .sendFailed: 5
            case .tunWriteFailed: 6
            }
        }

        mutating func sent(_ packets: Int, bytes: Int) {
            packetsOut += packets
            bytesOut += bytes
        }

        mutating func delivered(_ packets: Int, bytes: Int) {
            packetsIn += packets
            bytesIn += bytes
        }

        mutating func replied() { icmpReplies += 1 }

        mutating func dropped(_ reason: UDPEncapsulation.DropReason, _ count: Int = 1) {
            drops[Self.slot(of: reason)] += count
        }
    }
}

extension UDPProxy.Counters {
    /// Adds a thread's tally; the dictionary is touched only for reasons that dropped something.
    mutating func add(_ tally: UDPProxy.Tally) {
        packetsOut += tally.packetsOut
        bytesOut += tally.bytesOut
        packetsIn += tally.packetsIn
        bytesIn += tally.bytesIn
        icmpReplies += tally.icmpReplies
        for slot in tally.drops.indices where tally.drops[slot] > 0 {
            drops[UDPProxy.Tally.reasons[slot], default: 0] += tally.drops[slot]
        }
    }
}
