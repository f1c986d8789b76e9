import AgentCore

/// etcd's cluster faults in the simulator: a member killed, cut off from the others, or
/// replaced. An election is a short outage; without a majority there is no leader and etcd
/// neither answers nor expires leases (its time stands still, as in `etcdServingChanged`).
extension SimWorld {
    /// The member that leads now; nil during an election or without quorum.
    public var etcdLeader: Int? { etcdCluster.leader }

    /// Whether `host`'s client is on a member cut off from the others: its request gets no
    /// answer (that member has no leader), and the client moves on to the next member.
    func clientMemberIsolated(_ host: SimHost) -> Bool {
        guard etcdCluster.members > 1 else { return false }
        let member = etcdCluster.member(of: host.index)
        guard etcdCluster.isIsolated(member) else { return false }
        etcdCluster.moveOn(host.index)
        return true
    }

    /// Member `member` dies (SIGKILL).
    public func killEtcdMember(_ member: Int) {
        guard etcdCluster.isRunning(member) else { return }
        etcdCluster.setRunning(member, false)
        record("etcd member m\(member) killed")
        memberLost(member)
    }

    /// Member `member` runs again on its data and catches up; an election follows if needed.
    public func startEtcdMember(_ member: Int) {
        guard !etcdCluster.isRunning(member) else { return }
        etcdCluster.setRunning(member, true)
        record("etcd member m\(member) started")
        holdElectionIfNeeded()
    }

    /// Member `member` is cut off from the other members (its clients still reach it), or healed.
    public func isolateEtcdMember(_ member: Int, _ isolated: Bool) {
        guard etcdCluster.isIsolated(member) != isolated else { return }
        etcdCluster.setIsolated(member, isolated)
        record("etcd member m\(member) \(isolated ? "cut off from the other members" : "back in touch with the other members")")
        if isolated { memberLost(member) } else { holdElectionIfNeeded() }
    }

    /// A member stopped serving: its clients' watches break (the connection dropped, or etcd
    /// cancels watches on a member without a leader); if it led, an election starts; without
    /// a majority every member is leaderless and every watch breaks.
    private func memberLost(_ member: Int) {
        let watchingThere = etcdCluster.hosts(on: member)
        breakWatches(keeping: { !watchingThere.contains($0.index) })
        if etcdCluster.leader == member {
            etcdCluster.leader = nil
            record("etcd has no leader: an election starts")
            etcdServingChanged()
        }
        if !etcdCluster.hasQuorum {
            // An election under way cannot finish; one starts afresh when a majority is back.
            etcdCluster.electionEnds = nil
            etcdCluster.election += 1
            if etcdCluster.leader != nil {
                etcdCluster.leader = nil
                record("etcd lost its quorum: no leader")
                etcdServingChanged()
            }
            breakWatches(keeping: { _ in false })
        }
        holdElectionIfNeeded()
    }

    private func holdElectionIfNeeded() {
        guard etcdCluster.leader == nil, etcdCluster.electionEnds == nil, etcdCluster.candidate != nil else { return }
        let ends = now + uniform(options.electionTime)
        etcdCluster.electionEnds = ends
        let election = etcdCluster.election
        scheduler.schedule(at: ends) { [unowned self] in
            guard etcdCluster.election == election else { return }
            etcdCluster.electionEnds = nil
            // The majority may have gone again meanwhile; a member's return calls again.
            guard etcdCluster.leader == nil, let winner = etcdCluster.candidate else { return }
            etcdCluster.leader = winner
            record("etcd member m\(winner) elected leader")
            etcdServingChanged()
        }
    }
}
