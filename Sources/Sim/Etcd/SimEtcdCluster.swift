import AgentCore

/// etcd as a raft cluster, as far as its clients can tell: which members run, which are cut
/// off from the others, who leads, and which member each host's client talks to. A cluster
/// serves only while a leader is elected; a leader needs a majority of the members running
/// and able to reach each other. Arrays by member, never sets: nothing here may iterate in
/// hash order.
struct SimEtcdCluster {
    let members: Int
    private(set) var running: [Bool]
    private(set) var isolated: [Bool]
    /// 1-based; nil during an election and while there is no quorum.
    var leader: Int?
    /// The election under way ends (a leader is chosen) at this time.
    var electionEnds: Timestamp?
    /// Counts elections begun and abandoned: a timer of an abandoned one does nothing.
    var election = 0
    /// Per host index, the member its client uses now (clients start spread over the members).
    private var memberOfHost: [Int: Int] = [:]

    init(members: Int) {
        self.members = max(1, members)
        running = Array(repeating: true, count: self.members)
        isolated = Array(repeating: false, count: self.members)
        leader = 1
    }

    func isRunning(_ member: Int) -> Bool { running[member - 1] }
    func isIsolated(_ member: Int) -> Bool { isolated[member - 1] }
    /// Running and in touch with the others: can vote, lead, and serve.
    func isHealthy(_ member: Int) -> Bool { running[member - 1] && !isolated[member - 1] }

    /// Whether the healthy members are a majority (a leader can be elected).
    var hasQuorum: Bool {
        (1...members).filter(isHealthy).count > members / 2
    }

    /// Who wins the next election: the lowest healthy member (any would do; this one is
    /// deterministic), nil without quorum.
    var candidate: Int? {
        hasQuorum ? (1...members).first(where: isHealthy) : nil
    }

    mutating func setRunning(_ member: Int, _ value: Bool) { running[member - 1] = value }
    mutating func setIsolated(_ member: Int, _ value: Bool) { isolated[member - 1] = value }

    /// The member `host`'s client talks to: where it was, or, when that member is down (its
    /// connection refused), the next running one (the client's failover).
    mutating func member(of host: Int) -> Int {
        let current = memberOfHost[host] ?? ((host - 1) % members + 1)
        var member = current
        for offset in 0..<members where isRunning((current - 1 + offset) % members + 1) {
            member = (current - 1 + offset) % members + 1
            break
        }
        memberOfHost[host] = member
        return member
    }

    /// `host`'s client gave up on its member (no answer): it moves to the next one.
    mutating func moveOn(_ host: Int) {
        let current = member(of: host)
        memberOfHost[host] = current % members + 1
    }

    /// The hosts whose clients use `member` now, in host order.
    func hosts(on member: Int) -> [Int] {
        memberOfHost.filter { $0.value == member }.map(\.key).sorted()
    }
}
