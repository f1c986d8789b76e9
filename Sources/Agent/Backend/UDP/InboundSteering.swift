/// The udp proxy's inbound thread, one wake-up at a time, apart from its system calls: how
/// many datagrams each receive asks for, when the TUN is served in between, and when a
/// drain ends after a packet it sent alone. Pure, so that each of these choices, each worth
/// a few microseconds of a ping's round trip or a few percent of a flow's throughput
/// (docs/performance/udp-rtt.md), is tested on its own.
public struct InboundSteering: Sendable {
    /// How the TUN is to be served: whether the drain ends after a packet it sends alone, and
    /// whether it batches from its first read.
    public struct TUNService: Equatable, Sendable {
        public var stopAfterLoneSend: Bool
        public var batchFromFirst: Bool

        public init(stopAfterLoneSend: Bool, batchFromFirst: Bool) {
            self.stopAfterLoneSend = stopAfterLoneSend
            self.batchFromFirst = batchFromFirst
        }
    }

    /// Messages one batch receive takes.
    public let batch: Int
    /// Whether the last wake-up made at most two reads and receives (a ping and its answer; a
    /// UDP_GRO datagram or a TSO read counts once): a condition of both stops after a lone send.
    public private(set) var sparse = true
    /// Whether the socket is (still) to be received from.
    public private(set) var receiving = false
    /// How many messages the next receive asks for.
    public private(set) var asked = 1
    /// Whether the TUN may hold packets: poll said so, something was written to it since it
    /// was last read (an answer may be waiting), or a drain stopped after a lone send.
    public private(set) var tunMayHold = false
    private var calls = 0
    private var firstDrain = false
    private var batchFromFirst = false
    /// Messages received and TUN read calls in this wake-up.
    private var packets = 0

    public init(batch: Int) {
        self.batch = batch
    }

    /// A wake-up, with what poll reported.
    public mutating func wake(socketReadable: Bool, tunReadable: Bool) {
        receiving = socketReadable
        // After a wake-up one datagram is usually all there is: the first call asks for one
        // (a plain recvmsg, the shortest way to it).
        asked = 1
        calls = 0
        tunMayHold = tunReadable
        // On a wake-up for the TUN alone after a quiet one (a ping leaving), the first drain
        // ends after a packet it sends alone, and the socket is looked at before the TUN is
        // read again (upstream's order): an answer that came meanwhile then goes into the TUN
        // with a receive and a write, not after an empty TUN read and a poll. Only then: on
        // every wake-up the stop cost 7 % of single-stream throughput ("first drain").
        firstDrain = sparse && !socketReadable
        batchFromFirst = false
        packets = 0
    }

    /// A receive brought `count` messages. `coalescerHolds`: a TCP segment waits to be joined;
    /// `firstWasJoined`: the first message was a UDP_GRO-joined one. Returns how to serve the
    /// TUN before the next receive, or nil to receive (or stop receiving) at once.
    public mutating func received(_ count: Int, coalescerHolds: Bool, firstWasJoined: Bool) -> TUNService? {
        tunMayHold = true
        packets += count
        calls += 1
        let single = asked == 1
        receiving = count == asked
        // A second single receive only when nothing waits in the coalescer: with a TCP segment
        // held, more of the flow is likely queued, and a batch takes it at once.
        asked = calls == 1 && !coalescerHolds ? 1 : batch
        // Not while a segment from a single receive waits in the coalescer (a request's data,
        // maybe after a lone ACK): it is written after the next call, a batch, joined by what
        // that brings if it continues the flow.
        guard receiving && !(single && coalescerHolds) else { return nil }
        // One datagram after a quiet wake-up, not joined and not held (a ping coming in): an
        // answer sent alone ends the wake-up, so the thread polls at once rather than after a
        // TUN read and a receive that would find nothing.
        return TUNService(stopAfterLoneSend: sparse && calls == 1 && !firstWasJoined, batchFromFirst: batchFromFirst)
    }

    /// The TUN was served between receives and found empty or handed over.
    public mutating func tunServed() {
        tunMayHold = false
    }

    /// A drain made `reads` read calls (the budget, when it ran out).
    public mutating func drained(_ reads: Int) {
        packets += reads
    }

    /// The socket's queue is empty for now. `flushed`: the coalescer wrote what it held (often
    /// answered at once: an echo reply, an ACK). Returns how to serve the TUN, or nil to end
    /// the wake-up: nothing was written to it since it was last read, and one more read would
    /// only delay the sleep.
    public mutating func receivingEnded(flushed: Bool) -> TUNService? {
        if flushed { tunMayHold = true }
        guard tunMayHold else { return nil }
        return TUNService(stopAfterLoneSend: firstDrain, batchFromFirst: batchFromFirst)
    }

    /// That drain stopped after a lone send: the socket first, then the TUN again, batching
    /// from its first packet.
    public mutating func drainStoppedAfterLoneSend() {
        firstDrain = false
        batchFromFirst = true
        receiving = true
        asked = 1
        calls = 0
    }

    /// The wake-up is over: was it sparse?
    public mutating func sleep() {
        sparse = packets <= 2
    }
}
