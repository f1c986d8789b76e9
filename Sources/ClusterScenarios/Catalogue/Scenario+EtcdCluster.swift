import AgentCore

/// S18, S19: etcd as a cluster of three members losing its leader (killed, or cut off from
/// the others while the agents still reach it), its quorum, and each member in turn. Three
/// agents run with leases of 20 s (renewed every 10 s) and a container pinging across; a
/// fourth host joins during the fault. `EtcdFaultObserver` judges every one the same way.
extension Scenario {
    /// Leases short enough that the faults outlast a renew interval (10 s) and even a TTL.
    static let clusterTTL = Duration.seconds(20)
    /// An agent's log lines over a whole fault: the reconnections with backoff, and the
    /// newcomer's peer lines; far below one per retry.
    static let clusterLogLines = 40

    public static let etcdLeaderKilled = Scenario(
        id: "S18", name: "etcd-leader-killed",
        summary: "3 etcd members; the leader SIGKILLed for 15 s and brought back, a host joining meanwhile: no duplicate or changed subnet, pings flow, renewals resume, the newcomer is seen once by all",
        etcd: .threeMembers
    ) { run in try leaderKilled(run) }

    public static let etcdV2LeaderKilled = Scenario(
        id: "S18", name: "etcd-v2-leader-killed",
        summary: "the walkthrough's v2 API on 3 etcd members (--etcd-api=v2); the leader SIGKILLed for 15 s and brought back, a host joining meanwhile",
        etcd: ScenarioEtcd(members: 3, v2: true)
    ) { run in
        if run.world == .simulator { run.note("the simulator's etcd has one store: the v2 agents run on its v3 model") }
        try leaderKilled(run)
    }

    private static func leaderKilled(_ run: ScenarioRun) throws {
        try leaderLost(run, how: "killed (SIGKILL)", restored: "started again", elected: "the other two members elected a new leader") { leader in
            try run.harness.killEtcdMember(leader)
        } restore: { leader in
            try run.harness.startEtcdMember(leader)
        }
    }

    public static let etcdLeaderIsolated = Scenario(
        id: "S18", name: "etcd-leader-isolated",
        summary: "3 etcd members; the leader cut off from the other two for 15 s while the agents still reach it: it steps down, the agents move to the majority, a host joins meanwhile",
        etcd: .threeMembers
    ) { run in
        try leaderLost(run, how: "cut off from the other members (the agents still reach it)", restored: "back in touch",
                       elected: "it stepped down and the majority elected another") { leader in
            try run.harness.isolateEtcdMember(leader, true)
        } restore: { leader in
            try run.harness.isolateEtcdMember(leader, false)
        }
    }

    /// The leader lost for 15 s (`lose`), a host joining meanwhile, then `restore`d.
    private static func leaderLost(_ run: ScenarioRun, how: String, restored: String, elected: String,
                                   lose: (Int) throws -> Void, restore: (Int) throws -> Void) throws {
        let harness = run.harness
        let (hosts, leader, observer) = try watchedCluster(run)
        let before = try harness.etcdRevision()
        try lose(leader)
        run.step("etcd's leader m\(leader) \(how); h4 joins")
        try run.startAgent(hosts[3], ttl: clusterTTL)
        try observer.pass(.seconds(15), "m\(leader) lost")
        let now = try harness.etcdLeader()
        run.expect(now != nil && now != leader, "\(elected) (m\(now.map(String.init) ?? "none"))")
        try restore(leader)
        run.step("m\(leader) \(restored)")
        try observer.pass(.seconds(5), "m\(leader) back")
        try judge(run, observer, renewedAfter: before, newcomer: hosts[3])
    }

    public static let etcdQuorumLost = Scenario(
        id: "S19", name: "etcd-quorum-lost",
        summary: "2 of 3 etcd members stopped for 30 s (longer than a renew interval and the 20 s TTL): writes fail, a joining host waits, leases neither renew nor expire; all converges once they are back",
        etcd: .threeMembers
    ) { run in
        let harness = run.harness
        let (hosts, leader, observer) = try watchedCluster(run)
        // The leader and one follower go: the member left cannot lead alone.
        let stopped = [leader, leader % 3 + 1]
        for member in stopped { try harness.killEtcdMember(member) }
        run.step("etcd members \(stopped.map { "m\($0)" }.joined(separator: " and ")) stopped: no quorum; h4 joins")
        try run.startAgent(hosts[3], ttl: clusterTTL)
        try observer.pass(.seconds(30), "no quorum")
        run.expect(try harness.etcdLeader() == nil, "the remaining member has no leader")
        run.expect(try harness.subnetFile(of: hosts[3]) == nil && harness.agentIsRunning(on: hosts[3]),
                   "writes fail: h4 has no lease yet, and keeps trying")
        for member in stopped { try harness.startEtcdMember(member) }
        run.step("both members back")
        let restored = try harness.etcdRevision()
        try observer.pass(.seconds(2), "quorum back")
        try judge(run, observer, renewedAfter: restored, newcomer: hosts[3])
    }

    public static let etcdMemberReplacement = Scenario(
        id: "S19", name: "etcd-member-replacement",
        summary: "every etcd member replaced in turn (removed, wiped, added back) while 3 agents run and a host joins: no lease lost, nothing changes for the agents",
        etcd: .threeMembers
    ) { run in
        let harness = run.harness
        let (hosts, _, observer) = try watchedCluster(run)
        let before = try harness.etcdRevision()
        for member in 1...3 {
            try harness.replaceEtcdMember(member)
            run.step("etcd member m\(member) replaced" + (member == 2 ? "; h4 joins" : ""))
            if member == 2 { try run.startAgent(hosts[3], ttl: clusterTTL) }
            try observer.pass(.seconds(5), "after replacing m\(member)")
        }
        run.expect(try harness.etcdLeader() != nil, "the cluster of replaced members has a leader")
        try judge(run, observer, renewedAfter: before, newcomer: hosts[3])
    }

    /// Three agents with a container each and a fourth host without one, etcd's leader, and an
    /// observer watching the three from now on.
    private static func watchedCluster(_ run: ScenarioRun) throws -> (hosts: [ClusterHost], leader: Int, observer: EtcdFaultObserver) {
        let (hosts, containers) = try run.cluster(hosts: 4, agents: 3, ttl: clusterTTL)
        let leader = try currentLeader(run)
        return (hosts, leader, try EtcdFaultObserver(run, agents: Array(hosts[0..<3]), pinging: containers[0], containers[1]))
    }

    /// The observer's judgement once etcd serves again, then a container on the newcomer (the
    /// outcome's reachability matrix includes it).
    private static func judge(_ run: ScenarioRun, _ observer: EtcdFaultObserver, renewedAfter revision: Int64, newcomer: ClusterHost) throws {
        try observer.finish(renewedAfter: revision, newcomer: newcomer, ttl: clusterTTL, maximumLogLines: clusterLogLines)
        try run.addContainer(on: newcomer)
    }

    /// The leader now; a failure when the cluster has none before the fault.
    private static func currentLeader(_ run: ScenarioRun) throws -> Int {
        var leader: Int?
        try run.harness.waitUntil("etcd to have a leader", timeout: .seconds(10)) {
            leader = try run.harness.etcdLeader()
            return leader != nil
        }
        run.note("etcd: 3 members, m\(leader!) leads")
        return leader!
    }
}
