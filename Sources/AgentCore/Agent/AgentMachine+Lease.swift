extension AgentMachine {
    /// Runs one lease-machine event and turns its actions into the agent's.
    mutating func runLease(now: Timestamp, _ event: (inout LeaseMachine) -> [LeaseMachine.Action]) -> [Action] {
        guard var machine = lease else { return [] }
        let leaseActions = event(&machine)
        lease = machine
        var actions: [Action] = []
        for leaseAction in leaseActions {
            guard phase != .stopped else { break }
            actions += translate(leaseAction, now: now)
        }
        return actions
    }

    private mutating func translate(_ action: LeaseMachine.Action, now: Timestamp) -> [Action] {
        switch action {
        case .listLeases:
            leaseCallDescription = "listing leases"
            return [.lease(.list)]
        case let .createLease(key, attributes, ttl):
            leaseCallDescription = "creating the lease for \(key.subnets)"
            creatingKey = key
            return [.lease(.create(key, attributes, ttl: ttl))]
        case let .updateLease(key, attributes, ttl, expected):
            leaseCallDescription = "renewing the lease for \(key.subnets)"
            return [.lease(.update(key, attributes, ttl: ttl, expectedModRevision: expected))]
        case let .deleteLease(key, expected, reason):
            leaseCallDescription = "deleting the lease for \(key.subnets)"
            return [.log(.notice, "deleting our old lease \(key.subnets): \(reason)"), .lease(.delete(key, expectedModRevision: expected))]
        case let .scheduleRenewal(at):
            return [.setTimer(.lease, at: at)]
        case let .scheduleRetry(after):
            return [.setTimer(.lease, at: now + after)]
        case let .leaseAcquired(acquired):
            return leaseAcquired(acquired, now: now)
        case let .leaseRenewed(renewed):
            held = renewed
            return [.observe(.leaseRenewed(renewed)), .log(.debug, "renewed lease \(renewed.key.subnets)")]
        case let .leaseLost(key, holder):
            let holderText = holder.map { ": now held by \($0)" } ?? ""
            return [.observe(.leaseLost), .setReadiness("the lease \(key.subnets) was lost; acquiring again"),
                    .log(.warning, "lost lease \(key.subnets)\(holderText); acquiring again")]
        case let .subnetDrifted(from, to):
            return [.observe(.drifted(from: from, to: to)),
                    .log(.error, "SUBNET CHANGED: this host had \(from), it now holds \(to); containers on \(from) must be restarted")]
        case let .ipv6SubnetDrifted(from, to):
            return [.observe(.ipv6Drifted(from: from, to: to)),
                    .log(.error, "IPv6 SUBNET CHANGED: this host had \(from), it now holds \(to); containers on \(from) must be restarted")]
        case let .failed(error):
            return exit(.failed("\(error)"))
        }
    }

    private mutating func leaseAcquired(_ acquired: HeldLease, now: Timestamp) -> [Action] {
        var actions: [Action] = [.observe(.leaseAcquired(acquired))]
        guard let previous = held, let config, let mtu else {
            // The first lease: the data path is built for it.
            held = acquired
            let ttl = acquired.isReservation ? "reservation, no TTL" : "TTL \(configuration.leaseTTLText)"
            actions.append(.log(.info, "acquired lease \(acquired.key.subnets) (\(ttl)) at \(configuration.layout.leaseKey(acquired.key))"))
            guard phase == .acquiring, let config else { return actions }
            phase = .startingDataPath
            return actions + [.startDataPath(OwnSubnets(key: acquired.key, config: config))]
        }
        // Taken again after a loss: the same subnets, or (drift) others everything moves to.
        held = acquired
        let moved = acquired.key != previous.key
        let subnets = OwnSubnets(key: acquired.key, config: config)
        if moved {
            if dataPathRunning { actions.append(.moveDataPath(to: subnets)) }
            if phase == .listingPeers || phase == .running {
                actions.append(.writeSubnetFile(SubnetFile(subnets, mtu: mtu, ipMasq: configuration.ipMasq)))
            }
        }
        if phase == .running { actions.append(.setReadiness(nil)) }
        if table != nil {
            actions += applyPeerChanges(now: now) { $0.setOwnKey(acquired.key) }
        }
        if moved && configuration.keepsTrafficRules && (phase == .running || phase == .listingPeers) {
            actions += keepTrafficRules(.moved(acquired.key), quiet: true)
        }
        return actions
    }
}
