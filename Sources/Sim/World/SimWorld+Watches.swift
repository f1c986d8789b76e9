import AgentCore

/// Lease watches: each batch decoded once and delivered to every watching agent by one event,
/// catch-up deliveries for (re)opened watches, and lazy delivery to agents whose table is the
/// reference's (`startFollowing`), so that ten thousand agents cost nothing per etcd change.
extension SimWorld {
    /// Watch events reach watchers in revision order: every delivery (broadcast or catch-up)
    /// is scheduled no earlier than the one before.
    func nextDeliveryTime() -> Timestamp {
        lastDelivery = max(now + uniform(options.etcdLatency), lastDelivery)
        return lastDelivery
    }

    func broadcast(_ batches: [LeaseEventBatch]) {
        // With nobody watching, only the reference takes the batches: no latency drawn (the
        // run's random sequence stays as without the reference), still after earlier deliveries.
        let time = watches.isEmpty ? max(now, lastDelivery) : nextDeliveryTime()
        scheduler.schedule(at: time) { [unowned self] in
            for batch in batches {
                // Followers this batch concerns catch up to just before it and get it as it comes.
                for index in followers(concernedBy: batch) {
                    if let agent = followers[index]?.agent { stopFollowing(agent) }
                }
                _ = reference.apply(batch, sharing: peerSharing)
            }
            guard !watchers.isEmpty else { return }
            let first = batches.first!.revision
            for index in watchers {
                guard let next = watches[index], let agent = hosts[index - 1].agent else { continue }
                let due = next <= first ? batches : batches.filter { $0.revision >= next }
                if !agent.host.isPaused(at: now) && agent.host.deferred.isEmpty {
                    // The common case, without a closure per watcher (thousands per change at scale).
                    if agent.isCurrent { for batch in due { agent.watchDelivered(batch) } }
                } else {
                    runOrDefer(agent.host) { [weak agent] in
                        guard let agent, agent.isCurrent else { return }
                        due.forEach { agent.watchDelivered($0) }
                    }
                }
                if watches[index] != nil { watches[index] = max(next, batches.last!.revision + 1) }
            }
            if options.deliversLazily { startFollowing() }
        }
    }

    /// Watchers whose tables are the reference's start following it: from now on a batch
    /// reaches them only when it mentions their own key or is malformed (then they catch up
    /// first and take it like everyone else), or when anything reads or changes their table.
    /// Ten thousand agents then cost nothing per etcd change, with the same run event for event.
    /// (The reference takes a whole broadcast before the watchers do: a follower released from
    /// inside another agent's delivery would get it early; nothing does that.)
    func startFollowing() {
        var started = false
        for index in watchers where watches[index] == reference.revision + 1 {
            guard let agent = hosts[index - 1].agent, !agent.host.isPaused(at: now), agent.host.deferred.isEmpty,
                  let key = agent.keyIfCanFollow(reference) else { continue }
            agent.follow()
            followers[index] = (agent, key)
            followersByKey[key, default: []].append(index)
            statistics.followsStarted += 1
            started = true
        }
        if started { watchers.removeAll { followers[$0] != nil } }
    }

    /// `agent` takes every batch delivered while it followed and gets the next ones as they come.
    func stopFollowing(_ agent: SimAgent) {
        let index = agent.host.index
        endFollowing(index)
        agent.caughtUp(to: reference)
        setWatch(index, next: reference.revision + 1)
    }

    func endFollowing(_ index: Int) {
        guard let (agent, key) = followers.removeValue(forKey: index) else { return }
        agent.following = false
        followersByKey[key]?.removeAll { $0 == index }
        if followersByKey[key]?.isEmpty == true { followersByKey[key] = nil }
    }

    /// The followers that must see `batch` as it comes: all for a malformed entry, else those
    /// whose own key it writes or deletes.
    func followers(concernedBy batch: LeaseEventBatch) -> [Int] {
        guard !followers.isEmpty else { return [] }
        var concerned: [Int] = []
        for event in batch.events {
            switch event {
            case let .put(record): concerned += followersByKey[record.key] ?? []
            case let .delete(key): concerned += followersByKey[key] ?? []
            case .malformed: return followers.keys.sorted()
            }
        }
        return concerned
    }

    func openWatch(_ agent: SimAgent, after revision: Int64) {
        let host = agent.host
        guard etcdReachable(host), !clientMemberIsolated(host) else {
            after(options.watchBreakDetection, agent) { $0.watchBroken() }
            return
        }
        let missed: [WatchBatch]
        do {
            missed = try etcd.history(prefix: layout.subnetsPrefix + "/", fromRevision: revision + 1)
        } catch {
            let compacted: Int64
            if case let .compacted(at) = error { compacted = at } else { compacted = revision + 1 }
            after(uniform(options.etcdLatency), agent) { $0.watchCompacted(at: compacted) }
            return
        }
        // Caught up to etcd's revision by the catch-up delivery; broadcasts take it from there.
        setWatch(host.index, next: etcd.revision + 1)
        if !missed.isEmpty {
            let batches = missed.map { EtcdRegistry.leaseEvents($0, layout: layout) }
            at(nextDeliveryTime(), agent) { agent in batches.forEach { agent.watchDelivered($0) } }
        }
    }

    func setWatch(_ index: Int, next: Int64?) {
        if next == nil, let agent = followers[index]?.agent {
            // A broken watch still delivered everything before it broke (and a stopped
            // agent keeps the table it had).
            if agent.isCurrent {
                stopFollowing(agent)
            } else {
                endFollowing(index)
                agent.caughtUp(to: reference)
            }
        }
        watches[index] = next
        var low = 0, high = watchers.count
        while low < high {
            let middle = (low + high) / 2
            if watchers[middle] < index { low = middle + 1 } else { high = middle }
        }
        let listed = low < watchers.count && watchers[low] == index
        if next != nil && !listed {
            watchers.insert(index, at: low)
        } else if next == nil && listed {
            watchers.remove(at: low)
        }
    }
}
