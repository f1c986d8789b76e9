import Agent
import ClusterScenarios
@testable import Sim
import Testing

/// The simulator's own checks: the walkthrough's trace, the chaos run over 200 seeds judged by
/// the invariants, and proof that the invariants catch a broken allocator and a kernel that
/// keeps deleted entries.
@Suite("Simulator scenarios")
struct SimScenarioTests {
    @Test func seedPingMatchesTheWalkthrough() {
        let run = SimCluster.run(Scenario.seedPing, seed: 7).cluster
        let text = run.world.trace.lines.joined(separator: "\n")
        #expect(text.contains("lease 10.1."), "\(text)")
        #expect(text.contains("reply ttl=60"))
        #expect(text.contains("192.0.2.11.8285 > 192.0.2.12.8285: UDP, length 84"))
        #expect(run.world.hosts.allSatisfy { $0.tunnel?.mtu == 1472 })
    }

    @Test func differentSeedsMakeDifferentRuns() {
        let hashes = Set((1...5).map { SimScenario.chaos.run(seed: UInt64($0), keepsTrace: false).world.trace.hash })
        #expect(hashes.count == 5)
    }

    @Test func chaosOver200SeedsKeepsEveryInvariant() {
        var failed: [String] = []
        var wireguardRuns = 0
        for seed in UInt64(1)...200 {
            let run = SimScenario.chaos.run(seed: seed, keepsTrace: false)
            if !run.passed { failed.append(run.summary) }
            if run.world.hosts.contains(where: { $0.wireguard != nil }) { wireguardRuns += 1 }
            // Determinism on a sample of the seeds (all of them would double the time).
            // The world's decoded index of live leases (what agents list) is what etcd holds.
            #expect(run.world.liveListing(revision: run.world.etcd.revision) == run.world.etcd.listLeases(layout: run.world.layout),
                     "chaos seed \(seed): the listing index differs from etcd")
            if seed % 25 == 0 {
                let again = SimScenario.chaos.run(seed: seed, keepsTrace: false)
                #expect(again.world.trace.hash == run.world.trace.hash, "chaos seed \(seed) is not deterministic; replay: \(run.replayCommand)")
            }
        }
        #expect(failed.isEmpty, "\(failed.joined(separator: "\n"))")
        #expect(wireguardRuns >= 30, "chaos over wireguard: \(wireguardRuns) of 200 seeds")
    }

    @Test func chaosCatchesAnAllocatorThatIgnoresExistingLeases() {
        let runs = (UInt64(1)...50).map { SimScenario.chaosWithBrokenAllocator.run(seed: $0, keepsTrace: false) }
        let caught = runs.filter { !$0.passed }
        #expect(caught.count >= 10, "only \(caught.count) of 50 seeds caught the broken allocator")
        #expect(caught.contains { $0.allFailures.contains { $0.contains("was overwritten by") } })
        // The same seeds with the real allocator are clean.
        #expect((UInt64(1)...50).allSatisfy { SimScenario.chaos.run(seed: $0, keepsTrace: false).passed })
    }

    @Test func chaosCatchesAKernelThatKeepsDeletedEntries() {
        let runs = (UInt64(1)...50).map { SimScenario.chaosWithBrokenKernelDeletes.run(seed: $0, keepsTrace: false) }
        let caught = runs.filter { !$0.passed }
        #expect(caught.count >= 10, "only \(caught.count) of 50 seeds caught the stale kernel entries")
        #expect(caught.contains { $0.allFailures.contains { $0.contains("kernel entries differ from etcd: would delete route") } },
                "\(caught.first?.summary ?? "")")
    }

    /// Lazy delivery (agents following the world's reference table) must change nothing:
    /// the same trace, the same outcome and the same table on every host as delivering every
    /// batch to every agent as it arrives, through crashes, pauses, partitions, compaction and churn.
    @Test func lazyDeliveryRunsExactlyAsEagerDelivery() {
        var follows = 0
        for seed in UInt64(1)...40 {
            let lazy = SimScenario.chaos.run(seed: seed, keepsTrace: false) { $0.tracesDetail = false }
            let eager = SimScenario.chaos.run(seed: seed, keepsTrace: false) { $0.tracesDetail = false; $0.deliversLazily = false }
            #expect(eager.world.statistics.followsStarted == 0)
            follows += lazy.world.statistics.followsStarted
            #expect(lazy.world.trace.hash == eager.world.trace.hash, "chaos seed \(seed): lazy and eager delivery differ; replay: \(lazy.replayCommand)")
            #expect(lazy.passed == eager.passed, "chaos seed \(seed): \(lazy.summary) vs \(eager.summary)")
            #expect(Self.tables(lazy.world) == Self.tables(eager.world), "chaos seed \(seed): the hosts' peer tables differ")
        }
        #expect(follows > 0, "no agent ever followed: the lazy path was not exercised")

        let lazy = SimScaleRun(hosts: 150, hours: 3, seed: 5)
        let eager = SimScaleRun(hosts: 150, hours: 3, seed: 5, deliversLazily: false)
        let (lazyOutcome, eagerOutcome) = (lazy.run(), eager.run())
        #expect(lazy.world.statistics.followsStarted > 150)
        #expect(lazyOutcome.traceHash == eagerOutcome.traceHash)
        #expect(lazyOutcome.convergence == eagerOutcome.convergence && lazyOutcome.etcdRequests == eagerOutcome.etcdRequests)
        #expect(lazyOutcome.violations.isEmpty && eagerOutcome.violations.isEmpty)
        #expect(Self.tables(lazy.world) == Self.tables(eager.world))
    }

    struct TableView: Equatable {
        var revision: Int64
        var peers: [Peer]
    }

    /// Every host's peers and revision, as its agent sees them.
    static func tables(_ world: SimWorld) -> [TableView?] {
        world.hosts.map { host in host.agent.map { TableView(revision: $0.table.revision, peers: $0.table.peers) } }
    }

    @Test func aPausedAgentLosesItsLeaseAndTakesItBack() {
        let scenario = SimScenario(id: "T", name: "pause", summary: "test", options: SimScenario.shortLeases) { run in
            let world = run.world
            let hosts = run.cluster(hosts: 2)
            let subnet = hosts[1].agent?.held?.key
            world.pauseAgent(hosts[1], for: .seconds(100))
            world.run(for: .seconds(5))
            run.expect(world.ping(from: hosts[0], to: hosts[1].containers[0].address) == .timeout, "a frozen proxy forwards nothing")
            world.run(for: .seconds(90))
            run.expect(world.etcd.listLeases(layout: world.layout).records.allSatisfy { $0.key != subnet }, "the lease expired meanwhile")
            world.run(for: .seconds(30))
            run.expect(hosts[1].agent?.held?.key == subnet, "after the pause h2 takes its subnet back")
            run.expectPing(hosts[0], hosts[1])
            run.settleAndCheck(after: .seconds(10))
        }
        let run = scenario.run(seed: 5)
        #expect(run.passed, "\(run.summary)")
    }

    @Test func anExtendedPauseKeepsWatchEventsInOrder() {
        let scenario = SimScenario(id: "T", name: "pause-twice", summary: "test") { run in
            let world = run.world
            let hosts = run.cluster(hosts: 2)
            world.pauseAgent(hosts[1], for: .seconds(10))
            let third = world.addHost()
            world.startAgent(third)
            world.run(for: .seconds(5))
            world.pauseAgent(hosts[1], for: .seconds(20))  // extended while events wait
            let fourth = world.addHost()
            world.startAgent(fourth)
            world.run(for: .seconds(30))
            let others = Set([hosts[0], third, fourth].compactMap { $0.agent?.held?.key })
            run.expect(Set(hosts[1].agent?.table.peers.map(\.key) ?? []) == others, "h2 saw every lease taken while it was paused")
            world.deployContainers(on: third)
            world.deployContainers(on: fourth)
            run.settleAndCheck(after: .seconds(10))
        }
        for seed: UInt64 in 1...5 {
            let run = scenario.run(seed: seed)
            #expect(run.passed, "\(run.summary)")
        }
    }

    @Test func theListingIndexMatchesEtcdWithOddKeys() {
        let world = SimWorld(seed: 1)
        let prefix = world.layout.subnetsPrefix + "/"
        for (key, value) in [("10.1.5.0-24", #"{"PublicIP":"192.0.2.1"}"#), ("10.1.5.0-24&fd00::-64", #"{"PublicIP":"192.0.2.2"}"#),
                             ("10.1.6.0-24", "garbage"), ("not-a-key", #"{"PublicIP":"192.0.2.4"}"#), ("10.1.7.0-24", #"{"PublicIP":"192.0.2.3"}"#)] {
            _ = try? world.etcd.put(key: prefix + key, value: value)
        }
        world.writeNetworkConfig(world.options.networkConfig)
        #expect(world.liveListing(revision: world.etcd.revision) == world.etcd.listLeases(layout: world.layout))
        _ = world.etcd.delete(key: prefix + "10.1.5.0-24")
        _ = try? world.etcd.put(key: prefix + "10.1.6.0-24", value: #"{"PublicIP":"192.0.2.5"}"#)
        world.writeNetworkConfig(world.options.networkConfig)
        let listing = world.liveListing(revision: world.etcd.revision)
        #expect(listing == world.etcd.listLeases(layout: world.layout))
        #expect(listing.records.map(\.attributes.publicIP.description) == ["192.0.2.2", "192.0.2.5", "192.0.2.3"])
    }

    @Test func schedulerRunsSameInstantEventsInTheOrderScheduled() {
        let scheduler = SimScheduler()
        var order: [Int] = []
        scheduler.schedule(at: .seconds(2)) { order.append(3) }
        scheduler.schedule(at: .seconds(1)) { order.append(1) }
        scheduler.schedule(at: .seconds(1)) { order.append(2) }
        scheduler.run(until: .seconds(1))
        #expect(order == [1, 2])
        #expect(scheduler.now == .seconds(1))
        scheduler.run(until: .seconds(10))
        #expect(order == [1, 2, 3])
        #expect(scheduler.now == .seconds(10))
    }

    @Test func aFailingRunNamesItsSeedAndTheReplayCommand() {
        let failing = SimScenario(id: "T", name: "always-fails", summary: "test") { run in
            run.expect(false, "the thing that must hold")
        }
        let run = failing.run(seed: 99)
        #expect(!run.passed)
        #expect(run.summary.contains("seed 99: FAILED"))
        #expect(run.summary.contains("the thing that must hold"))
        #expect(run.summary.contains("replay: swift run flannel-sim run always-fails --seed 99 --trace"))
    }
}

/// Chaos on dual-stack networks: both families' kernel entries and pings judged.
@Suite("Dual-stack chaos")
struct DualStackChaosTests {
    @Test func chaosOnDualStackNetworksKeepsEveryInvariantOfBothFamilies() {
        var failed: [String] = []
        for seed in UInt64(1)...100 {
            let run = SimScenario.chaosDualStack.run(seed: seed, keepsTrace: false)
            if !run.passed { failed.append(run.summary) }
        }
        #expect(failed.isEmpty, "\(failed.joined(separator: "\n"))")
        let again = SimScenario.chaosDualStack.run(seed: 7, keepsTrace: false)
        #expect(again.world.trace.hash == SimScenario.chaosDualStack.run(seed: 7, keepsTrace: false).world.trace.hash)
    }

    @Test func staleIPv6KernelEntriesAreCaught() {
        let broken = SimScenario(id: "chaos-dual-stack-broken", name: "chaos-dual-stack-broken-kernel",
                                 summary: "dual-stack chaos with a kernel that ignores deletions",
                                 options: { options in
                                     var options = SimScenario.chaosDualStack.options(options)
                                     options.brokenKernelDeletes = true
                                     return options
                                 }, body: SimScenario.chaosDualStack.body)
        let caught = (UInt64(1)...50).map { broken.run(seed: $0, keepsTrace: false) }.filter { !$0.passed }
        #expect(caught.count >= 10, "only \(caught.count) of 50 seeds caught the stale kernel entries")
        #expect(caught.contains { $0.allFailures.contains { $0.contains("IPv6 kernel entries differ from etcd") } },
                "\(caught.first?.summary ?? "")")
    }
}
