import Agent

/// The agent machine with everything but its lease watch answered at once: the watch runs
/// against a real registry in real time, as in the daemon, so a test sees what the daemon's
/// watch does through an etcd outage.
struct WatchOnlyAgent {
    let registry: any Registry

    /// The subnets of the first `count` peers the machine reports added, and how many watch
    /// interruptions it reported meanwhile.
    func peersAdded(after revision: Int64, count: Int) async throws -> ([String], Int) {
        let me = LeaseAttributes(publicIP: IPv4Address(192, 0, 2, 200))
        var machine = AgentMachine(configuration: .init(
            etcdAPI: .v3, layout: EtcdKeyLayout(prefix: "/flannel-test/network"), host: BackendHost(publicIP: me.publicIP, externalName: "eth0", externalAddress: me.publicIP, externalMTU: 1500), leaseTTL: .seconds(600),
            leaseTTLText: "10m", renewMargin: .seconds(60), previousSubnet: IPv4Network("10.1.200.0/24"), ipMasq: false, forwardRules: false))
        var random = SystemRandomNumberGenerator()
        let origin = ContinuousClock.now
        let (events, sink) = AsyncStream.makeStream(of: AgentMachine.Event.self)
        var iterator = events.makeAsyncIterator()
        var tasks: [Task<Void, Never>] = []
        defer { tasks.forEach { $0.cancel() } }
        var answers: [AgentMachine.Event] = [.start]
        var added: [String] = []
        var interruptions = 0
        while added.count < count {
            let event: AgentMachine.Event
            if !answers.isEmpty {
                event = answers.removeFirst()
            } else if let next = await iterator.next() {
                event = next
            } else {
                break
            }
            let now = Timestamp(nanoseconds: (ContinuousClock.now - origin).nanosecondsClamped)
            for action in machine.handle(event, now: now, random: &random) {
                switch action {
                case .readConfig: answers.append(.configRead(.v3, .success(#"{ "Network": "10.1.0.0/16" }"#)))
                case .prepareBackend: answers.append(.backendPrepared(device: nil))
                case .lease(.list): answers.append(.leasesListed(LeaseListing(records: [], revision: revision)))
                case .lease(.create): answers.append(.leaseCreated(modRevision: 1))
                case .startDataPath: answers.append(.dataPathStarted)
                case .listPeers: answers.append(.peersListed(LeaseListing(records: [], revision: revision)))
                case let .watchPeers(after):
                    tasks.append(Task { [registry] in
                        do {
                            for try await batch in registry.watchLeases(after: after) { sink.yield(.watchDelivered(batch)) }
                            sink.yield(.watchBroken(nil))
                        } catch {
                            sink.yield(.watchBroken(error as? EtcdError ?? .unavailable("\(error)")))
                        }
                    })
                case let .setTimer(timer, at):
                    tasks.append(Task {
                        try? await Task.sleep(until: origin + .nanoseconds(at.nanoseconds), clock: ContinuousClock())
                        sink.yield(.timerFired(timer))
                    })
                case let .peer(.added(peer)):
                    added.append(peer.key.subnets)
                case .observe(.watchInterrupted):
                    interruptions += 1
                default:
                    break
                }
            }
        }
        return (added, interruptions)
    }
}
