import Agent
@testable import Sim
import Testing

/// TCP streams through the simulator's data path, where the udp agents run the fast path's
/// real segmenter and coalescer: a stream arrives byte for byte, the receiving container gets
/// it in the sender's super-packets again, every delivered checksum verifies (the joined
/// packets' ones completed from the coalescer's pseudo-header sum), and loss, duplication and
/// reordering leave holes but never wrong bytes. Same seed, same run.
@Suite("TCP streams across the simulated udp fast path")
struct SimStreamTests {
    static let megabyte = 1_000_000

    /// Two hosts with agents and a container each, then `body`.
    static func run(seed: UInt64, config: String? = nil, offloads: Bool = true,
                    _ body: @escaping @Sendable (SimRun, SimWorld, [SimHost]) -> Void) -> SimRun {
        let scenario = SimScenario(id: "T", name: "stream", summary: "a TCP stream across two hosts") { run in
            let hosts = run.cluster(hosts: 2, config: config)
            body(run, run.world, hosts)
        }
        return scenario.run(seed: seed) { $0.udpOffloads = offloads }
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func aStreamArrivesWholeInTheSendersSuperPackets(seed: UInt64) {
        let run = Self.run(seed: seed) { run, world, hosts in
            let stream = world.sendStream(from: hosts[0], to: hosts[1].containers[0].address, bytes: Self.megabyte)
            run.expect(stream.isComplete && stream.corruptPackets == 0, "the whole stream, intact: \(stream)")
            // 46 segments of 1,420 bytes per super-packet (65,320 of payload): 16 of them.
            run.expect(stream.superPackets == 16, "16 super-packets of up to 65,320 bytes: \(stream)")
            run.expect(stream.datagrams == 705, "one datagram per 1,420-byte segment on the underlay (705): \(stream)")
            run.expect(stream.packetsDelivered == 16 && stream.largestDelivered == 65_320,
                       "joined back into the sender's 16 super-packets before the container: \(stream)")
            run.expectPing(hosts[0], hosts[1])
        }
        #expect(run.passed, "\(run.summary)")
    }

    @Test func withoutOffloadsEverySegmentTravelsAndArrivesAlone() {
        let run = Self.run(seed: 4, offloads: false) { run, world, hosts in
            let stream = world.sendStream(from: hosts[0], to: hosts[1].containers[0].address, bytes: Self.megabyte)
            run.expect(stream.isComplete && stream.corruptPackets == 0, "the whole stream, intact: \(stream)")
            run.expect(stream.superPackets == 705 && stream.datagrams == 705 && stream.packetsDelivered == 705
                       && stream.largestDelivered == 1_420, "705 segments sent, carried and delivered one by one: \(stream)")
        }
        #expect(run.passed, "\(run.summary)")
    }

    /// Up to flannel0's MTU less the headers (1,472 - 40): what a container's TCP would use.
    @Test(arguments: [536, 1_000, 1_432])
    func everyMSSCutsAndJoinsBackIntact(mss: Int) {
        let run = Self.run(seed: UInt64(mss)) { run, world, hosts in
            let stream = world.sendStream(from: hosts[1], to: hosts[0].containers[0].address, bytes: 300_001, mss: mss)
            let datagrams = (300_001 + mss - 1) / mss
            run.expect(stream.isComplete && stream.corruptPackets == 0 && stream.datagrams == datagrams
                       && stream.packetsDelivered == stream.superPackets, "MSS \(mss): \(datagrams) datagrams, joined back: \(stream)")
        }
        #expect(run.passed, "\(run.summary)")
    }

    @Test func lossDuplicationAndReorderingLeaveHolesButNeverWrongBytes() {
        func faulty(seed: UInt64) -> (SimRun, SimStream?) {
            nonisolated(unsafe) var result: SimStream?
            let run = Self.run(seed: seed) { run, world, hosts in
                world.faults.loss = 0.05
                world.faults.duplication = 0.05
                world.faults.jitter = .microseconds(300)
                let stream = world.sendStream(from: hosts[0], to: hosts[1].containers[0].address, bytes: Self.megabyte)
                result = stream
                run.expect(stream.corruptPackets == 0, "no delivered packet carries wrong bytes or a bad checksum: \(stream)")
                run.expect(stream.bytesDelivered < Self.megabyte && stream.bytesDelivered > Self.megabyte / 2,
                           "5 % loss leaves holes, most bytes arrive: \(stream)")
                run.expect(stream.packetsDelivered > stream.superPackets,
                           "reordered and duplicated segments break the joins into more packets: \(stream)")
                run.settleAndCheck(after: .seconds(10))
            }
            return (run, result)
        }
        let (first, stream) = faulty(seed: 7)
        let (again, replay) = faulty(seed: 7)
        #expect(first.passed, "\(first.summary)")
        #expect(stream == replay && first.world.trace.hashText == again.world.trace.hashText, "same seed, same run")
    }

    @Test func aReceiverRestartedMidStreamLosesPartOfItAndJoinsTheNextWhole() {
        let run = Self.run(seed: 9) { run, world, hosts in
            // h2's agent dies while the stream's datagrams are in flight and comes straight back.
            world.scheduler.schedule(after: .microseconds(150)) {
                world.stopAgent(hosts[1])
                world.startAgent(hosts[1])
            }
            let cut = world.sendStream(from: hosts[0], to: hosts[1].containers[0].address, bytes: Self.megabyte)
            run.expect(!cut.isComplete && cut.bytesDelivered > 0 && cut.corruptPackets == 0,
                       "part of the stream lost with the agent, the rest intact: \(cut)")
            world.run(for: .seconds(5))
            let next = world.sendStream(from: hosts[0], to: hosts[1].containers[0].address, bytes: Self.megabyte)
            run.expect(next.isComplete && next.corruptPackets == 0 && next.packetsDelivered == next.superPackets,
                       "the restarted agent joins the next stream whole: \(next)")
        }
        #expect(run.passed, "\(run.summary)")
    }

    @Test func anAgentThatDiesHoldingAJoinedPacketDropsItAndTheNextOneJoinsAfresh() {
        let run = Self.run(seed: 10) { run, world, hosts in
            let source = hosts[0].containers[0], target = hosts[1].containers[0]
            let port: UInt16 = 9
            world.traffic.streams[port] = SimStream(bytes: 2_840)
            let packet = SimPacket.tcp(from: source.address, to: target.address, sourcePort: 40_000, destinationPort: port,
                                       sequence: SimStream.initialSequence, flags: 0x10, ipID: 1,
                                       payload: SimWorld.streamBytes(0, 2_840), partialChecksum: true)
            // Two segments of one flow reach h2's proxy at one instant and are joined...
            let segments = SimWorld.cut(packet, SimPacket.superPacketHeader(packet, mss: 1_420))
            run.expect(segments.count == 2, "two segments: \(segments.map(\.count))")
            for segment in segments { world.joinOrDeliver(hosts[1], segment) }
            // ...and the agent dies before they are written to flannel0.
            world.stopAgent(hosts[1])
            world.run(for: .milliseconds(1))
            run.expect(world.statistics.drops["proxy: a joined packet died with the agent"] == 1,
                       "the held packet is dropped and said so: \(world.statistics.drops)")
            run.expect(world.traffic.streams[port]?.packetsDelivered == 0, "nothing of it reached the container")
            world.startAgent(hosts[1])
            world.run(for: .seconds(5))
            let next = world.sendStream(from: hosts[0], to: target.address, bytes: Self.megabyte)
            run.expect(next.isComplete && next.corruptPackets == 0 && next.packetsDelivered == next.superPackets,
                       "the new agent joins the next stream whole: \(next)")
        }
        #expect(run.passed, "\(run.summary)")
    }

    @Test func onVXLANTheKernelCutsTheStream() {
        let run = Self.run(seed: 5, config: #"{ "Network": "10.1.0.0/16", "Backend": { "Type": "vxlan" } }"#) { run, world, hosts in
            let stream = world.sendStream(from: hosts[0], to: hosts[1].containers[0].address, bytes: Self.megabyte)
            run.expect(stream.isComplete && stream.corruptPackets == 0 && stream.datagrams == 705 && stream.packetsDelivered == 705,
                       "cut by the kernel, 705 vxlan datagrams, delivered one by one: \(stream)")
        }
        #expect(run.passed, "\(run.summary)")
    }
}
