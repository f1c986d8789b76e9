extension AgentMachine {
    // MARK: Data path and traffic rules

    mutating func dataPathStarted(now: Timestamp) -> [Action] {
        guard phase == .startingDataPath, let held, let config else { return [] }
        dataPathRunning = true
        phase = .keepingRules
        // The rules before subnet.env: whatever reads it (docker, CNI) finds them in place.
        let leftovers = Action.removeOtherTrafficRules(nftables: config.enableNFTables, subnets: OwnSubnets(key: held.key, config: config))
        guard configuration.keepsTrafficRules else { return [leftovers] + rulesInPlace() }
        return [leftovers] + keepTrafficRules(.start(attempt: 1), quiet: true)
    }

    mutating func dataPathFailed(_ reason: String) -> [Action] {
        guard phase == .running || phase == .listingPeers || phase == .keepingRules else { return exit(.failed(reason)) }
        let backend = config?.backend.typeName ?? "the"
        return [.setReadiness("data path failed: \(reason)")]
            + exit(.failed("\(backend) backend: \(reason); exiting so that the service manager restarts the agent"))
    }

    private var trafficTool: String {
        guard config?.ipv4 != nil else { return "ip6tables" }
        return config?.enableNFTables == true ? "nftables" : "iptables"
    }

    mutating func keepTrafficRules(_ request: TrafficRequest, quiet: Bool) -> [Action] {
        guard let config, let held else { return [] }
        trafficRequests.append(request)
        return [.keepTrafficRules(nftables: config.enableNFTables, subnets: OwnSubnets(key: held.key, config: config), quiet: quiet)]
    }

    mutating func trafficRulesKept(restored: Int, summary: String, now: Timestamp) -> [Action] {
        guard !trafficRequests.isEmpty else { return [] }
        switch trafficRequests.removeFirst() {
        case .start:
            guard phase == .keepingRules else { return [] }
            let line = "\(trafficTool): \(summary); --ip-masq=\(configuration.ipMasq), --iptables-forward-rules=\(configuration.forwardRules)"
            return [.log(.info, line)] + rulesInPlace()
        case let .moved(key):
            return [.log(.notice, "\(trafficTool) rules re-made for \(key.subnets)")]
        case .resync:
            var actions: [Action] = []
            if restored == 0 { actions.append(.log(.debug, "\(trafficTool) rules checked: in place")) }
            if trafficFailure != nil { actions.append(.log(.notice, "\(trafficTool) rules restored")) }
            trafficFailure = nil
            return actions + [.setTimer(.trafficResync, at: now + configuration.trafficResync)]
        }
    }

    mutating func trafficRulesFailed(_ error: String, now: Timestamp) -> [Action] {
        guard !trafficRequests.isEmpty else { return [] }
        let retrying = "retrying every \(configuration.trafficResyncSeconds) s"
        switch trafficRequests.removeFirst() {
        case let .start(attempt):
            guard phase == .keepingRules else { return [] }
            // iptables may wait a while for the xtables lock (kube-proxy, docker): a few tries.
            if attempt < 5 {
                pendingTrafficRetry = .start(attempt: attempt + 1)
                return [.log(.warning, "\(trafficTool): \(error); trying again in 2 s"), .setTimer(.trafficRetry, at: now + .seconds(2))]
            }
            if configuration.ipMasq { return exit(.failed("--ip-masq: \(error)")) }
            return [.log(.error, "--iptables-forward-rules: \(error); forwarded traffic may be dropped by the FORWARD policy (\(retrying))")]
                + rulesInPlace()
        case .moved:
            return [.log(.error, "\(trafficTool): \(error); \(retrying)")]
        case .resync:
            // The same failure once, not every resync.
            let actions: [Action] = trafficFailure == error ? [] : [.log(.error, "\(trafficTool): \(error); \(retrying)")]
            trafficFailure = error
            return actions + [.setTimer(.trafficResync, at: now + configuration.trafficResync)]
        }
    }

    /// The rules are in force (or given up on): subnet.env, readiness for systemd, then peers.
    private mutating func rulesInPlace() -> [Action] {
        guard let held, let mtu, let config else { return [] }
        phase = .listingPeers
        return [.writeSubnetFile(SubnetFile(OwnSubnets(key: held.key, config: config), mtu: mtu, ipMasq: configuration.ipMasq)),
                .notifyReady, .listPeers]
    }

    // MARK: Peers

    mutating func peersListed(_ listing: LeaseListing, now: Timestamp, sharing: PeerTable.Sharing?) -> [Action] {
        if phase == .listingPeers, let held {
            table = PeerTable(ownPublicIP: configuration.publicIP, ownPublicIPv6: configuration.host.publicIPv6, ownKey: held.key)
            var actions = applyPeerChanges(now: now, programming: false) { $0.applySnapshot(listing, sharing: sharing) }
            actions += checkSharedSubnets(listing.records, now: now)
            guard phase != .stopped, let table else { return actions }
            // Once at start whatever the listing said: with no peers at all, the kernel
            // backends still remove what a previous run left behind.
            actions += [.programPeers, .observe(.peerCount(table.peerCount))]
            listingBackoff.succeeded()
            watchRevision = listing.revision
            phase = .running
            actions.append(.watchPeers(after: watchRevision))
            // Ready only while the lease is ours: one lost meanwhile keeps its reason until
            // it is taken again.
            if lease?.lease != nil { actions += [.setReadiness(nil), .log(.info, "ready")] }
            actions.append(.setTimer(.dataPathTick, at: now + configuration.dataPathTick))
            if configuration.keepsTrafficRules { actions.append(.setTimer(.trafficResync, at: now + configuration.trafficResync)) }
            return actions
        }
        guard phase == .running, relistingAfterCompaction != nil else { return [] }
        relistingAfterCompaction = nil
        var actions: [Action] = [.observe(.watchRelisted),
                                 .log(.notice, "etcd history was compacted; re-listed \(listing.records.count) leases at revision \(listing.revision)")]
        actions += applyPeerChanges(now: now) { $0.applySnapshot(listing, sharing: sharing) }
        actions += checkSharedSubnets(listing.records, now: now)
        watchRevision = listing.revision
        watchBackoff.succeeded()
        watchProblem = nil
        return actions + [.watchPeers(after: watchRevision)]
    }

    mutating func peersListFailed(_ error: EtcdError, now: Timestamp) -> [Action] {
        if phase == .listingPeers {
            guard error.isTransient else { return exit(.failed("\(error)")) }
            let delay = listingBackoff.failed()
            return [.log(.warning, "listing leases failed: \(error); retrying in \(delay)"), .setTimer(.peersListRetry, at: now + delay)]
        }
        guard phase == .running, let compacted = relistingAfterCompaction else { return [] }
        relistingAfterCompaction = nil
        return watchInterrupted("re-listing after compaction at revision \(compacted) failed: \(error)", now: now)
    }

    mutating func watchDelivered(_ batch: LeaseEventBatch, now: Timestamp, sharing: PeerTable.Sharing?) -> [Action] {
        guard phase == .running else { return [] }
        var actions: [Action] = []
        if watchProblem != nil {
            actions.append(.log(.notice, "lease watch resumed after revision \(watchRevision)"))
            watchProblem = nil
        }
        watchRevision = max(watchRevision, batch.revision)
        watchBackoff.succeeded()
        actions += applyPeerChanges(now: now) { $0.apply(batch, sharing: sharing) }
        let puts = batch.events.compactMap { event -> LeaseRecord? in if case let .put(record) = event { record } else { nil } }
        return actions + checkSharedSubnets(puts, now: now)
    }

    /// A dual-stack key that shares a subnet of ours under another key: the lease machine
    /// decides who keeps it (the older key).
    mutating func checkSharedSubnets(_ records: [LeaseRecord], now: Timestamp) -> [Action] {
        guard let held, phase != .stopped else { return [] }
        for record in records where held.key.sharesSubnet(with: record.key) {
            let actions = runLease(now: now) { $0.sharedSubnet(with: record, now: now) }
            if !actions.isEmpty { return actions }
        }
        return []
    }

    mutating func watchBroken(_ error: EtcdError?, now: Timestamp) -> [Action] {
        guard phase == .running, relistingAfterCompaction == nil else { return [] }
        if case let .compacted(revision)? = error {
            // The history since our revision is gone: the whole state, for the table to diff.
            relistingAfterCompaction = revision
            return [.listPeers]
        }
        if case .answerTooLarge? = error {
            // The same history would come back just as large: take the state from a paged
            // listing instead, and watch on from its revision.
            relistingAfterCompaction = watchRevision
            return [.listPeers]
        }
        return watchInterrupted(error.map { "\($0)" } ?? "the watch stream ended", now: now)
    }

    /// Consecutive interruptions of the same cause are reported once: an outage logs one line.
    private mutating func watchInterrupted(_ reason: String, now: Timestamp) -> [Action] {
        let delay = watchBackoff.failed()
        var actions: [Action] = []
        if reason != watchProblem {
            actions += [.observe(.watchInterrupted), .log(.warning, "lease watch interrupted: \(reason); retrying in \(delay) (forwarding continues)")]
            watchProblem = reason
        }
        return actions + [.setTimer(.watchRetry, at: now + delay)]
    }

    /// Applies a change to the peer table: logs it, programs the data path, and hands our own
    /// lease's fate to the lease machine, ignoring news about our key older than our last write
    /// (a resumed watch can replay the delete of a lease we have since re-created).
    mutating func applyPeerChanges(now: Timestamp, programming: Bool = true, _ change: (inout PeerTable) -> [PeerTable.Change]) -> [Action] {
        guard var peerTable = table else { return [] }
        let changes = change(&peerTable)
        table = peerTable
        var actions: [Action] = []
        var routesChanged = false
        var ownLease: [PeerTable.Change] = []
        var skipped: [MalformedLease] = []
        let reports = configuration.reportsPeerChanges
        for change in changes {
            switch change {
            case let .added(peer):
                if reports { actions.append(.peer(.added(peer))) }
                routesChanged = true
            case let .changed(old, new):
                if reports { actions.append(.peer(.changed(from: old, to: new))) }
                routesChanged = true
            case let .removed(peer):
                if reports { actions.append(.peer(.removed(peer))) }
                routesChanged = true
            case let .malformed(problem):
                skipped.append(problem)
            case let .ownLeaseRemoved(_, revision), let .ownLeaseOverwritten(_, _, revision):
                if let held, revision > held.modRevision { ownLease.append(change) }
            }
        }
        actions += leaseWarnings.warn(skipped, now: now)
        if routesChanged && programming {
            actions += [.programPeers, .observe(.peerCount(peerTable.peerCount))]
        }
        for change in ownLease {
            switch change {
            case .ownLeaseRemoved:
                actions += runLease(now: now) { $0.ownLeaseRemoved(now: now) }
            case let .ownLeaseOverwritten(_, holder, _):
                actions += runLease(now: now) { $0.ownLeaseOverwritten(by: holder, now: now) }
            default:
                break
            }
        }
        return actions
    }

    // MARK: Lazy delivery (the simulator)

    /// The simulator stops delivering our watch batch by batch: while every batch concerns
    /// only peers, our table is its reference table with our own key, so ours is dropped
    /// (a follower left alone for hours must not keep an old copy alive).
    public mutating func follow() {
        guard let current = table else { return }
        followedSince = watchRevision
        table = PeerTable(ownPublicIP: current.ownPublicIP, ownPublicIPv6: current.ownPublicIPv6, ownKey: current.ownKey)
    }

    /// The simulator delivers what we missed while following, all at once: `reference` has
    /// applied exactly those batches, each of them about peers only. As each delivery would
    /// have, any of them resets the watch backoff.
    public mutating func catchUp(to reference: PeerTable) {
        guard let since = followedSince, var current = table else { return }
        followedSince = nil
        current.catchUp(to: reference)
        table = current
        if reference.revision > since {
            watchRevision = max(watchRevision, reference.revision)
            watchBackoff.succeeded()
        }
    }
}
