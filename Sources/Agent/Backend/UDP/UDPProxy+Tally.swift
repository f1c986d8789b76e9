extension UDPProxy {
    /// One forwarding thread's counts not yet published: plain integers, one per drop reason,
    /// so counting a packet and publishing the counts touch no dictionary (nothing to hash or
    /// allocate on the data path).
    struct Tally {
        var packetsOut = 0, bytesOut = 0, packetsIn = 0, bytesIn = 0, icmpReplies = 0
        var malformed = 0, ttlExpired = 0, noRoute = 0, oversized = 0, notFromPeer = 0, wrongSourcePort = 0, spoofedSource = 0, notForUs = 0
        var sendFailed = 0, tunWriteFailed = 0
        /// Updates since the last publication.
        var pending = 0

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
            switch reason {
            case .malformed: malformed += count
            case .ttlExpired: ttlExpired += count
            case .noRoute: noRoute += count
            case .oversized: oversized += count
            case .notFromPeer: notFromPeer += count
            case .wrongSourcePort: wrongSourcePort += count
            case .spoofedSource: spoofedSource += count
            case .notForUs: notForUs += count
            case .sendFailed: sendFailed += count
            case .tunWriteFailed: tunWriteFailed += count
            }
        }

        func drops(_ reason: UDPEncapsulation.DropReason) -> Int {
            switch reason {
            case .malformed: malformed
            case .ttlExpired: ttlExpired
            case .noRoute: noRoute
            case .oversized: oversized
            case .notFromPeer: notFromPeer
            case .wrongSourcePort: wrongSourcePort
            case .spoofedSource: spoofedSource
            case .notForUs: notForUs
            case .sendFailed: sendFailed
            case .tunWriteFailed: tunWriteFailed
            }
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
        for reason in UDPEncapsulation.DropReason.allCases {
            let count = tally.drops(reason)
            if count > 0 { drops[reason, default: 0] += count }
        }
    }
}
