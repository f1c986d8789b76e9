@testable import AgentCore
@testable import Agent
import Testing

/// The forwarding threads' bookkeeping: what they count between publications, and when the
/// inbound thread judges the TUN busy enough to call the outbound thread.
@Suite("UDP proxy bookkeeping")
struct UDPProxyBookkeepingTests {
    @Test func everyDropReasonIsCountedApart() {
        var tally = UDPProxy.Tally()
        let reasons = UDPEncapsulation.DropReason.allCases
        for (index, reason) in reasons.enumerated() { tally.dropped(reason, index + 1) }
        var counters = UDPProxy.Counters()
        counters.add(tally)
        #expect(counters.drops == Dictionary(uniqueKeysWithValues: reasons.enumerated().map { ($0.element, $0.offset + 1) }))
    }

    @Test func publishingATallyAddsItsCountsAndOnlyTheDropsThatHappened() {
        var tally = UDPProxy.Tally()
        tally.sent(3, bytes: 300)
        tally.delivered(2, bytes: 120)
        tally.replied()
        tally.dropped(.noRoute)
        tally.dropped(.tunWriteFailed, 4)
        var counters = UDPProxy.Counters()
        counters.drops[.noRoute] = 1
        counters.add(tally)
        #expect(counters.packetsOut == 3 && counters.bytesOut == 300)
        #expect(counters.packetsIn == 2 && counters.bytesIn == 120 && counters.icmpReplies == 1)
        #expect(counters.drops == [.noRoute: 2, .tunWriteFailed: 4])
    }

    /// `TUNLoad.add`, out of `#expect` (which cannot mutate).
    func add(_ load: inout UDPProxy.TUNLoad, _ count: Int, now: () -> Int64) -> Bool {
        load.add(count, now: now)
    }

    @Test func theTUNIsBusyAfter64ReadsWithinTenMillisecondsAndTheClockIsReadOnlyThen() {
        var load = UDPProxy.TUNLoad()
        var clockReads = 0
        var time: Int64 = 5_000_000_000
        let clock = { () -> Int64 in clockReads += 1; return time }
        // One read per drain, as on a quiet host: no clock read until the 64th.
        for _ in 0..<63 { #expect(!add(&load, 1, now: clock)) }
        #expect(clockReads == 0)
        // The first count to reach 64 only starts the window (they came over an unknown time),
        // with the read that reached it.
        #expect(!add(&load, 1, now: clock))
        #expect(clockReads == 1)
        time += 4_000_000
        #expect(!add(&load, 62, now: clock))
        #expect(clockReads == 1)
        // 64 within 10 ms of the window's start: busy.
        #expect(add(&load, 1, now: clock))
        // Reads spread over longer: the count starts over instead.
        var slow = UDPProxy.TUNLoad()
        #expect(!add(&slow, 64, now: clock))
        time += 50_000_000
        #expect(!add(&slow, 64, now: clock))
        time += 10_000_000
        #expect(add(&slow, 63, now: clock))
    }

    /// A bulk flow's ACKs, drained 31 at a time every 4 ms (7,750 reads/s): the TUN is handed
    /// over within a few drains.
    @Test func drainsOfManyReadsHandTheTUNOverSoon() {
        var load = UDPProxy.TUNLoad()
        var time: Int64 = 1_000_000_000
        var drains = 0
        while drains < 10 && !add(&load, 31, now: { time }) {
            drains += 1
            time += 4_000_000
        }
        #expect(drains < 5, "busy after \(drains) drains")
    }
}

/// The forwarding threads' buffers: the sizes each kind lists are what it takes.
@Suite("UDP proxy buffers")
struct UDPProxyBuffersTests {
    /// Every buffer gets the size its name says (a list out of order would give one too
    /// little), and the arena sized from the list has nothing left over.
    @Test func anArenaSizedFromTheListsHoldsExactlyTheBuffersTaken() {
        typealias Outbound = UDPProxy.OutboundBuffers
        var outbound = BufferArena(holding: Outbound.sizes)
        defer { outbound.deallocate() }
        let buffers = Outbound(from: &outbound)
        #expect(outbound.unused == 0)
        #expect(buffers.input.count == Outbound.inputBytes && buffers.segments.count == Outbound.segmentBytes)
        #expect(buffers.reply.count == Outbound.replyBytes && buffers.batch.count == Outbound.batchBytes)
        #expect(buffers.reply.allSatisfy { $0 == 0 })
        #expect(Outbound.segmentBytes >= 65_536 + (65_536 / 18 + 1) * 120, "a 64 KB super-packet cut at MSS 18 fits")

        typealias Inbound = UDPProxy.InboundBuffers
        var inbound = BufferArena(holding: Inbound.sizes)
        defer { inbound.deallocate() }
        let all = Inbound(from: &inbound)
        #expect(inbound.unused == 0)
        #expect(all.input.count == Inbound.inputBytes && all.joined.count == Inbound.joinedBytes)
        #expect(Inbound.inputBytes == UDPProxy.batch * UDPProxy.messageStride)
        #expect(UDPProxy.messageLead >= VirtioNetHeader.size, "a vnet header fits before every received message")
        #expect(UDPProxy.messageRoom >= 65_535 - 8, "a UDP_GRO message of the largest UDP payload is not cut short")
        #expect(all.outbound.segments.count == Outbound.segmentBytes && all.outbound.input.count == Outbound.inputBytes)
    }

    @Test func everyBufferStartsOnItsOwnCacheLine() {
        #expect(BufferArena.byteCount(holding: [1, 64, 65]) == 64 + 64 + 65)
        var arena = BufferArena(holding: [1, 3, 8])
        defer { arena.deallocate() }
        let starts = [arena.take(1), arena.take(3), arena.take(8)].map { Int(bitPattern: $0.baseAddress!) }
        #expect(starts.allSatisfy { $0 % BufferArena.alignment == 0 } && arena.unused == 0)
    }
}
