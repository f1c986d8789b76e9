import AgentCore
import Testing

/// The agent's decisions, driven event by event with a fake clock: what the daemon (and the
/// simulator) will do, in what order, and what it logs. No etcd, no kernel, no waiting.
@Suite("Agent machine")
struct AgentMachineTests {
    typealias Action = AgentMachine.Action

    static let me = IPv4Address(192, 0, 2, 1)
    static let host = BackendHost(publicIP: me, externalName: "eth0", externalAddress: me, externalMTU: 1500)
    static let config = #"{ "Network": "10.1.0.0/16" }"#

    /// The machine, the time, and everything it asked for so far.
    struct Drive {
        var machine: AgentMachine
        var now = Timestamp.zero
        var random = SplitMix(seed: 7)
        var actions: [Action] = []

        init(api: EtcdAPI = .v3, ipMasq: Bool = false, forwardRules: Bool = false, previous: IPv4Network? = nil,
             host: BackendHost = AgentMachineTests.host) {
            machine = AgentMachine(configuration: .init(
                etcdAPI: api, layout: EtcdKeyLayout(prefix: "/coreos.com/network"), host: host,
                leaseTTL: .seconds(86400), leaseTTLText: "24h", renewMargin: .seconds(3600), previousSubnet: previous,
                ipMasq: ipMasq, forwardRules: forwardRules, trafficResyncSeconds: 5))
        }

        @discardableResult
        mutating func send(_ event: AgentMachine.Event, after elapsed: Duration = .zero) -> [Action] {
            now = now + elapsed
            let answer = machine.handle(event, now: now, random: &random)
            actions += answer
            return answer
        }

        /// From start to running, holding 10.1.82.0/24 with `peers` listed.
        /// From start to a running data path, holding a fresh lease (next: the traffic rules,
        /// or with none configured, the peer listing).
        mutating func toDataPath() {
            send(.start)
            send(.configRead(.v3, .success(AgentMachineTests.config)))
            send(.backendPrepared(device: nil))
            send(.leasesListed(LeaseListing(records: [], revision: 3)))
            send(.leaseCreated(modRevision: 4))
            send(.dataPathStarted)
        }

        /// From start to running, with `peers` listed.
        mutating func toRunning(peers: [LeaseRecord] = []) {
            toDataPath()
            send(.peersListed(LeaseListing(records: peers, revision: 9)))
        }

        /// The log lines, with peer news as the daemon words them.
        var logs: [String] {
            actions.compactMap { action in
                switch action {
                case let .log(_, text): text
                case let .peer(.added(peer)): "peer added: \(peer)"
                case let .peer(.changed(old, new)): "peer changed: \(old) → \(new)"
                case let .peer(.removed(peer)): "peer removed: \(peer)"
                default: nil
                }
            }
        }
        var timers: [(AgentMachine.Timer, Timestamp)] {
            actions.compactMap { if case let .setTimer(timer, at) = $0 { (timer, at) } else { nil } }
        }
    }

    /// A deterministic generator, so the random subnet pick is the same every run.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test("start-up runs in upstream's order: config, backend, lease, data path, rules, subnet.env, peers, ready")
    func startUpOrder() throws {
        var drive = Drive()
        drive.toRunning(peers: [Fixtures.record("10.1.15.0/24", "192.0.2.2")])
        let kinds = drive.actions.compactMap { action -> String? in
            switch action {
            case .readConfig: "readConfig"
            case .useRegistry: "useRegistry"
            case .prepareBackend: "prepareBackend"
            case .lease(.list): "list"
            case .lease(.create): "create"
            case .startDataPath: "startDataPath"
            case .removeOtherTrafficRules: "removeOtherRules"
            case .writeSubnetFile: "writeSubnetFile"
            case .notifyReady: "notifyReady"
            case .listPeers: "listPeers"
            case .programPeers: "programPeers"
            case .watchPeers: "watchPeers"
            case .setReadiness(nil): "ready"
            default: nil
            }
        }
        #expect(kinds == ["readConfig", "useRegistry", "prepareBackend", "list", "create", "startDataPath", "removeOtherRules",
                          "writeSubnetFile", "notifyReady", "listPeers", "programPeers", "watchPeers", "ready"])
        #expect(drive.machine.phase == .running)
        #expect(drive.actions.contains(.watchPeers(after: 9)))
        #expect(drive.logs.contains { $0.hasPrefix("acquired lease 10.1.") && $0.contains("(TTL 24h) at /coreos.com/network/subnets/10.1.") })
        #expect(drive.logs.contains("peer added: 10.1.15.0/24 via 192.0.2.2 (udp)"))
        #expect(drive.logs.last == "ready")
    }

    @Test("--etcd-api=auto reads v2 only when v3 has no config, and says which it chose")
    func autoFallsBackToV2() {
        var drive = Drive(api: .auto)
        #expect(drive.send(.start).last == .readConfig(.v3))
        #expect(drive.send(.configRead(.v3, .success(nil))) == [.readConfig(.v2)])
        let chosen = drive.send(.configRead(.v2, .success(Self.config)))
        #expect(chosen.contains(.useRegistry(.v2)))
        #expect(drive.logs.contains { $0.hasPrefix("using etcd's v2 API: /coreos.com/network/config exists only in the v2 store") })

        var failing = Drive(api: .auto)
        failing.send(.start)
        // v3 failing is never a reason to use v2: that could split a cluster across the stores.
        let waiting = failing.send(.configRead(.v3, .failure(.unavailable("connection refused"))))
        #expect(!waiting.contains(.readConfig(.v2)))
        #expect(failing.timers.map(\.0) == [.configRetry])
    }

    @Test("waiting for the config backs off 0.5 s doubling to 5 s and says so once per problem")
    func configWaitBacksOff() {
        var drive = Drive()
        drive.send(.start)
        for _ in 0..<6 {
            drive.send(.configRead(.v3, .success(nil)))
            guard let (timer, at) = drive.timers.last, timer == .configRetry else { Issue.record("no retry timer"); return }
            #expect(drive.send(.timerFired(.configRetry), after: at - drive.now) == [.readConfig(.v3)])
        }
        let delays = zip([Timestamp.zero] + drive.timers.map(\.1), drive.timers.map(\.1)).map { $1 - $0 }
        #expect(delays == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)])
        #expect(drive.logs.filter { $0.hasPrefix("waiting for the network config") }.count == 1)
        drive.send(.configRead(.v3, .success(Self.config)))
        #expect(drive.logs.contains("network config found at /coreos.com/network/config"))
        #expect(drive.machine.phase == .preparingBackend)
    }

    @Test("a refused config or backend ends the agent with the message; nothing is retried")
    func refusalsAreFatal() {
        var drive = Drive()
        drive.send(.start)
        let denied = drive.send(.configRead(.v3, .failure(.permissionDenied(key: "/coreos.com/network/config", user: "flannel"))))
        guard case let .exit(.failed(message))? = denied.last else { Issue.record("expected an exit, got \(denied)"); return }
        #expect(message.contains("etcd denied access to /coreos.com/network/config"))
        #expect(drive.send(.timerFired(.configRetry)).isEmpty)

        var backend = Drive()
        backend.send(.start)
        backend.send(.configRead(.v3, .success(Self.config)))
        #expect(backend.send(.backendFailed("vxlan backend: MTU too small")) == [.exit(.failed("vxlan backend: MTU too small"))])
    }

    @Test("a broken watch resumes after the last revision, backing off 100 ms doubling to 5 s, reported once")
    func watchResumes() {
        var drive = Drive()
        drive.toRunning()
        drive.send(.watchDelivered(LeaseEventBatch(events: [.put(Fixtures.record("10.1.15.0/24", "192.0.2.2", modRevision: 12))], revision: 12)))
        drive.actions.removeAll()
        for _ in 0..<8 {
            drive.send(.watchBroken(.unavailable("tried http://192.0.2.9:2379 (connection refused)")))
            guard let (_, at) = drive.timers.last else { return }
            #expect(drive.send(.timerFired(.watchRetry), after: at - drive.now) == [.watchPeers(after: 12)])
        }
        let delays = zip([Timestamp.zero] + drive.timers.map(\.1), drive.timers.map(\.1)).map { $1 - $0 }.dropFirst()
        #expect(Array(delays) == [.milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600), .milliseconds(3200),
                                  .seconds(5), .seconds(5)])
        #expect(drive.logs.filter { $0.hasPrefix("lease watch interrupted") }.count == 1)
        #expect(drive.actions.filter { $0 == .observe(.watchInterrupted) }.count == 1)
        drive.send(.watchDelivered(LeaseEventBatch(events: [.delete(Fixtures.key("10.1.15.0/24"))], revision: 14)))
        #expect(drive.logs.contains("lease watch resumed after revision 12"))
        #expect(drive.logs.contains("peer removed: 10.1.15.0/24 via 192.0.2.2 (udp)"))
        // Back to 100 ms after events flowed again.
        drive.send(.watchBroken(nil))
        #expect(drive.timers.last.map { $0.1 - drive.now } == .milliseconds(100))
    }

    @Test("a watch answer too large for the client re-lists in pages instead of asking for the same history again")
    func tooLargeAWatchAnswerRelists() {
        var drive = Drive()
        drive.toRunning(peers: [Fixtures.record("10.1.15.0/24", "192.0.2.2")])
        #expect(drive.send(.watchBroken(.answerTooLarge(what: "/coreos.com/network/subnets/", limitBytes: 64 << 20))) == [.listPeers])
        let relisted = drive.send(.peersListed(LeaseListing(records: [Fixtures.record("10.1.15.0/24", "192.0.2.2")], revision: 50)))
        #expect(relisted.last == .watchPeers(after: 50))
    }

    @Test("a compacted watch re-lists, hands the table the whole state and watches from the listing's revision")
    func compactionRelists() {
        var drive = Drive()
        drive.toRunning(peers: [Fixtures.record("10.1.15.0/24", "192.0.2.2")])
        #expect(drive.send(.watchBroken(.compacted(compactRevision: 30))) == [.listPeers])
        let relisted = drive.send(.peersListed(LeaseListing(records: [Fixtures.record("10.1.16.0/24", "192.0.2.3")], revision: 40)))
        #expect(relisted.contains(.observe(.watchRelisted)))
        #expect(relisted.last == .watchPeers(after: 40))
        #expect(drive.logs.contains("etcd history was compacted; re-listed 1 leases at revision 40"))
        #expect(drive.logs.contains("peer removed: 10.1.15.0/24 via 192.0.2.2 (udp)"))
        #expect(drive.logs.contains("peer added: 10.1.16.0/24 via 192.0.2.3 (udp)"))
    }

    @Test("SIGTERM keeps the lease and stops the data path; a stop before the lease has nothing to stop")
    func stopping() {
        var running = Drive()
        running.toRunning()
        let stop = running.send(.stop(signal: "SIGTERM"))
        #expect(stop.count == 3)
        #expect(stop.dropFirst() == [.stopDataPath, .exit(.stopped)])
        #expect(running.logs.last?.hasPrefix("received SIGTERM; stopping (the lease 10.1.") == true)
        #expect(!stop.contains { if case .lease(.delete) = $0 { true } else { false } })
        #expect(running.send(.watchDelivered(LeaseEventBatch(events: [], revision: 50))).isEmpty)

        var early = Drive()
        early.send(.start)
        #expect(early.send(.stop(signal: "SIGINT")) == [.log(.info, "stopping while waiting for the network config"), .exit(.stopped)])
    }

    @Test("the start-up rules are tried five times 2 s apart; then --ip-masq is fatal, forward rules are not")
    func trafficRuleRetries() {
        for ipMasq in [true, false] {
            var drive = Drive(ipMasq: ipMasq, forwardRules: !ipMasq)
            drive.toDataPath()
            var last: [Action] = []
            for attempt in 1...5 {
                last = drive.send(.trafficRulesFailed("iptables: Another app is currently holding the xtables lock"))
                if attempt < 5 {
                    #expect(last.last == .setTimer(.trafficRetry, at: drive.now + .seconds(2)))
                    #expect(drive.send(.timerFired(.trafficRetry), after: .seconds(2)).count == 1)
                }
            }
            if ipMasq {
                #expect(last.suffix(2) == [.stopDataPath, .exit(.failed("--ip-masq: iptables: Another app is currently holding the xtables lock"))])
            } else {
                #expect(last.contains(.notifyReady))
                #expect(drive.machine.phase == .listingPeers)
            }
        }
    }

    @Test("a lease taken over elsewhere is re-acquired on another subnet: the data path, subnet.env and rules move")
    func driftMovesEverything() throws {
        var drive = Drive(ipMasq: true)
        drive.toDataPath()
        drive.send(.trafficRulesKept(restored: 0, summary: "3 rules in place"))
        drive.send(.peersListed(LeaseListing(records: [], revision: 9)))
        let ours = try #require(drive.machine.held)
        drive.actions.removeAll()
        // Another host's value written under our key: lost, re-listed, a new subnet.
        let thief = LeaseRecord(key: ours.key, attributes: LeaseAttributes(publicIP: IPv4Address(192, 0, 2, 66)), isReservation: false, modRevision: 20)
        drive.send(.watchDelivered(LeaseEventBatch(events: [.put(thief)], revision: 20)))
        #expect(drive.actions.contains(.observe(.leaseLost)))
        #expect(drive.actions.last == .lease(.list))
        drive.send(.leasesListed(LeaseListing(records: [thief], revision: 20)))
        drive.send(.leaseCreated(modRevision: 21))
        let moved = try #require(drive.machine.held?.subnet)
        let had = try #require(ours.subnet)
        #expect(moved != had)
        #expect(drive.actions.contains(.observe(.drifted(from: had, to: moved))))
        let subnets = OwnSubnets(network: IPv4Network("10.1.0.0/16")!, subnet: moved)
        #expect(drive.actions.contains(.moveDataPath(to: subnets)))
        #expect(drive.actions.contains(.writeSubnetFile(SubnetFile(network: IPv4Network("10.1.0.0/16")!, subnet: moved, mtu: 1472, ipMasq: true))))
        #expect(drive.actions.contains(.keepTrafficRules(nftables: false, subnets: subnets, quiet: true)))
        #expect(drive.logs.contains { $0.hasPrefix("SUBNET CHANGED: this host had \(had), it now holds \(moved)") })
    }

    @Test("a lease lost while the peers are being listed keeps the agent not ready until it is taken again")
    func notReadyWhileLost() throws {
        var drive = Drive()
        drive.toDataPath()
        let ours = try #require(drive.machine.held)
        // The renewal finds another host's value under our key.
        drive.send(.timerFired(.lease), after: .seconds(86400))
        let thief = LeaseRecord(key: ours.key, attributes: LeaseAttributes(publicIP: IPv4Address(192, 0, 2, 66)), isReservation: false, modRevision: 9)
        drive.send(.leaseUpdated(.heldByOther(thief.attributes)))
        #expect(drive.actions.contains(.observe(.leaseLost)))
        let listed = drive.send(.peersListed(LeaseListing(records: [thief], revision: 9)))
        #expect(!listed.contains(.setReadiness(nil)), "not ready while no lease is held: \(listed)")
        drive.send(.leasesListed(LeaseListing(records: [thief], revision: 9)))
        let retaken = drive.send(.leaseCreated(modRevision: 10))
        #expect(retaken.contains(.setReadiness(nil)))
    }
}
