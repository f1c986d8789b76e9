import Agent
import Testing

/// The udp proxy's inbound wake-ups, decision by decision: what a ping, a bulk flow and a
/// quiet TUN-only wake-up each make the thread do.
@Suite("Inbound steering (udp proxy)")
struct InboundSteeringTests {
    typealias Service = InboundSteering.TUNService

    @Test("a ping coming in: one single receive, then a drain that stops after the lone answer")
    func pingComingIn() {
        var steering = InboundSteering(batch: 64)
        steering.wake(socketReadable: true, tunReadable: false)
        #expect(steering.receiving && steering.asked == 1)
        let service = steering.received(1, coalescerHolds: false, firstWasJoined: false)
        #expect(service == Service(stopAfterLoneSend: true, batchFromFirst: false))
        #expect(steering.asked == 1, "a second single receive: nothing waits in the coalescer")
        steering.drained(1)
        steering.sleep()
        #expect(steering.sparse)
    }

    @Test("a bulk flow: batches after the first two receives, never a stop after a lone send")
    func bulkFlow() {
        var steering = InboundSteering(batch: 64)
        steering.wake(socketReadable: true, tunReadable: false)
        // A UDP_GRO datagram held by the coalescer: no TUN service between, and a batch next.
        #expect(steering.received(1, coalescerHolds: true, firstWasJoined: true) == nil)
        #expect(steering.asked == 64)
        let service = steering.received(64, coalescerHolds: true, firstWasJoined: true)
        #expect(service?.stopAfterLoneSend == false)
        steering.tunServed()
        #expect(!steering.tunMayHold)
        #expect(steering.received(10, coalescerHolds: false, firstWasJoined: false) == nil)
        #expect(!steering.receiving, "fewer than asked: the queue is empty")
        #expect(steering.receivingEnded(flushed: true) == Service(stopAfterLoneSend: false, batchFromFirst: false))
        steering.sleep()
        #expect(!steering.sparse)
    }

    @Test("a TUN-only wake-up after a quiet one: the first drain stops after a lone send, then the socket, then batches")
    func pingLeaving() {
        var steering = InboundSteering(batch: 64)
        steering.wake(socketReadable: false, tunReadable: true)
        #expect(!steering.receiving)
        #expect(steering.receivingEnded(flushed: false) == Service(stopAfterLoneSend: true, batchFromFirst: false))
        steering.drained(1)
        steering.drainStoppedAfterLoneSend()
        #expect(steering.receiving && steering.asked == 1)
        // The answer came meanwhile; the drain after it batches from its first packet.
        #expect(steering.received(1, coalescerHolds: false, firstWasJoined: false)?.batchFromFirst == true)
        steering.tunServed()
        // The next receive finds the queue empty (EAGAIN): nothing was written to the TUN since
        // it was served, so the wake-up ends without another read.
        #expect(steering.receivingEnded(flushed: false) == nil, "nothing written to the TUN since it was read: sleep")
    }

    @Test("after a busy wake-up, a TUN-only wake-up drains without stopping")
    func busyThenTUN() {
        var steering = InboundSteering(batch: 64)
        steering.wake(socketReadable: true, tunReadable: false)
        _ = steering.received(3, coalescerHolds: false, firstWasJoined: false)
        steering.sleep()
        steering.wake(socketReadable: false, tunReadable: true)
        #expect(steering.receivingEnded(flushed: false) == Service(stopAfterLoneSend: false, batchFromFirst: false))
    }
}
