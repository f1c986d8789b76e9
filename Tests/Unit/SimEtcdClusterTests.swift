import AgentCore
import ClusterScenarios
@testable import Sim
import Testing

/// The simulator's etcd cluster: who can lead, where clients go when a member fails, and
/// what an election, a lost quorum and a cut-off leader do to the agents.
@Suite("Simulated etcd cluster")
struct SimEtcdClusterTests {
    @Test func aLeaderNeedsAMajorityOfHealthyMembers() {
        var cluster = SimEtcdCluster(members: 3)
        #expect(cluster.hasQuorum && cluster.candidate == 1)
        cluster.setRunning(1, false)
        #expect(cluster.hasQuorum && cluster.candidate == 2)
        cluster.setIsolated(2, true)
        #expect(!cluster.hasQuorum && cluster.candidate == nil, "one healthy member of three cannot lead")
        cluster.setIsolated(2, false)
        #expect(cluster.candidate == 2)
    }

    @Test func clientsStartSpreadAndMoveOnFromAFailedMember() {
        var cluster = SimEtcdCluster(members: 3)
        #expect((1...6).map { cluster.member(of: $0) } == [1, 2, 3, 1, 2, 3])
        cluster.setRunning(2, false)
        #expect(cluster.member(of: 2) == 3, "a refused connection: the next running member")
        #expect(cluster.hosts(on: 3) == [2, 3, 6])
        cluster.moveOn(3)
        #expect(cluster.member(of: 3) == 1)
    }

    @Test func anElectionIsAShortOutageAndLostQuorumFreezesLeases() throws {
        var options = SimOptions()
        options.etcdMembers = 3
        let cluster = SimCluster(seed: 7, options: options)
        let world = cluster.world
        world.writeNetworkConfig(#"{ "Network": "10.1.0.0/16" }"#)
        let hosts = (0..<3).map { _ in world.addHost() }
        for host in hosts {
            host.agentLeaseTTL = .seconds(20)
            world.startAgent(host)
        }
        world.run(for: .seconds(1))
        #expect(hosts.allSatisfy { $0.subnetFile != nil })
        world.killEtcdMember(1)
        #expect(world.etcdLeader == nil)
        world.run(for: .seconds(2.5))
        #expect(world.etcdLeader == 2, "the lowest healthy member wins within the election time (1–2 s)")

        world.killEtcdMember(3)
        #expect(world.etcdLeader == nil)
        let created = world.etcd.revision
        world.run(for: .seconds(60))
        #expect(world.etcdLeader == nil, "one member of three cannot elect")
        #expect(try cluster.leases().count == 3, "three times the TTL without quorum: no lease expired")
        #expect(world.etcd.revision == created, "and nothing was written")
        world.startEtcdMember(3)
        world.run(for: .seconds(40))
        #expect(world.etcdLeader != nil)
        #expect(try cluster.leases().allSatisfy { $0.modRevision > created }, "every agent renewed once etcd had a leader again")
        #expect(world.drifts.isEmpty && world.violations.isEmpty, "\(world.violations)")
    }

    /// A follower's death breaks only the watches on it; a leader cut off from the others
    /// breaks those on it and moves its clients on, while the rest keep watching through the
    /// election; a newcomer afterwards is seen by all.
    @Test func onlyTheWatchesOnALostMemberBreak() throws {
        var options = SimOptions()
        options.etcdMembers = 3
        let cluster = SimCluster(seed: 11, options: options)
        let world = cluster.world
        world.writeNetworkConfig(#"{ "Network": "10.1.0.0/16" }"#)
        let hosts = (0..<6).map { _ in world.addHost() }
        for host in hosts { world.startAgent(host) }
        world.run(for: .seconds(1))
        func interrupted() -> [String] {
            hosts.filter { host in world.trace.lines.contains { $0.contains("] \(host.name) lease watch interrupted") } }.map(\.name)
        }
        #expect(interrupted().isEmpty)

        world.killEtcdMember(2)
        world.run(for: .seconds(5))
        #expect(world.etcdLeader == 1, "a follower's death is no election")
        #expect(interrupted() == ["h2", "h5"], "the clients start spread: h2 and h5 watched on m2")
        world.startEtcdMember(2)

        world.isolateEtcdMember(1, true)
        world.run(for: .seconds(5))
        #expect(world.etcdLeader == 2, "the majority elects m2")
        #expect(interrupted() == ["h1", "h2", "h4", "h5"], "h1 and h4 watched on the cut-off m1; h3 and h6 kept theirs")
        let newcomer = world.addHost()
        world.startAgent(newcomer)
        world.run(for: .seconds(10))
        let subnet = try #require(newcomer.subnetFile?.subnet)
        #expect(hosts.allSatisfy { $0.agent?.table.peers.contains { $0.subnet == subnet } == true }, "every agent sees the newcomer")
        #expect(world.violations.isEmpty, "\(world.violations)")
    }
}
