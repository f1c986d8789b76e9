@testable import Agent
import Testing

/// The forwarding threads' bookkeeping: what they count between publications, and when the
/// inbound thread judges the TUN busy enough to call the outbound thread.
@Suite("UDP proxy bookkeeping")
struct UDPProxyBookkeepingTests {
    @Test func everyDropReasonHasItsOwnSlot() {
        let slots = UDPEncapsulation.DropReason.allCases.map(UDPProxy.Tally.slot(of:))
        #expect(Set(slots).count == UDPEncapsulation.DropReason.allCases.count)
        #expect(slots.allSatisfy { (0..<UDPProxy.Tally().drops.count).contains($0) })
        #expect(slots.map { UDPProxy.Tally.reasons[$0] } == UDPEncapsulation.DropReason.allCases)
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
        // The first count to reach 64 only starts the window (they came over an unknown time).
        #expect(!add(&load, 1, now: clock))
        #expect(clockReads == 1)
        // 64 more within 10 ms: busy.
        time += 4_000_000
        #expect(!add(&load, 63, now: clock))
        #expect(add(&load, 1, now: clock))
        // 64 more spread over longer: the count starts over instead.
        var slow = UDPProxy.TUNLoad()
        #expect(!add(&slow, 64, now: clock))
        time += 50_000_000
        #expect(!add(&slow, 64, now: clock))
        time += 1_000_000
        #expect(add(&slow, 64, now: clock))
    }
}
