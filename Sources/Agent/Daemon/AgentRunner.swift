import Logging
import Synchronization

/// Carries out the agent machine's actions on a real host: etcd calls, the backend, the data
/// path, the traffic rules, subnet.env, timers. It holds no policy: every decision (what to
/// do next, when to retry, what to log) is the machine's.
///
/// One loop handles one event at a time. Quick effects (netlink, files, the rule tools) run
/// inline and their answers are handled next, before any other event; etcd calls and timers
/// run as tasks whose answers arrive through the event stream, so a stop is seen at once
/// whatever etcd is doing.
final class AgentRunner {
    typealias Event = AgentMachine.Event

    private let options: FlanneldOptions
    private let environment: [String: String]
    private let logger: Logger
    private let metrics: AgentMetrics
    private let health: HealthServer
    private let external: NetworkInterface
    private let publicIP: IPv4Address
    /// The external interface's global IPv6 address (dual-stack), if it has one.
    private let externalIPv6: IPv6Address?
    private let registries: EtcdRegistries
    private let sink: AsyncStream<Event>.Continuation
    private let clock = ContinuousClock()
    private var ignoredPeerLines = LogBudget()
    private let origin: ContinuousClock.Instant
    private var generator = SystemRandomNumberGenerator()

    private var registry: (any Registry)?
    private var backend: (any PreparedBackend)?
    private var dataPath: (any RunningDataPath)?
    private var traffic: TrafficRuleKeeper?
    private var timers: [AgentMachine.Timer: Task<Void, Never>] = [:]
    private var calls: [(task: Task<Void, Never>, done: CallDone)] = []
    private var watch: Task<Void, Never>?

    init(options: FlanneldOptions, environment: [String: String], logger: Logger, metrics: AgentMetrics, health: HealthServer,
         external: NetworkInterface, publicIP: IPv4Address, externalIPv6: IPv6Address?, registries: EtcdRegistries,
         sink: AsyncStream<Event>.Continuation) {
        self.externalIPv6 = externalIPv6
        self.options = options
        self.environment = environment
        self.logger = logger
        self.metrics = metrics
        self.health = health
        self.external = external
        self.publicIP = publicIP
        self.registries = registries
        self.sink = sink
        origin = clock.now
    }

    private var now: Timestamp { Timestamp(nanoseconds: (clock.now - origin).nanosecondsClamped) }

    /// Runs the machine until it exits: returns when stopped, throws when it failed.
    func run(_ machine: inout AgentMachine, events: AsyncStream<Event>) async throws {
        var iterator = events.makeAsyncIterator()
        var answers: [Event] = [.start]
        while true {
            let event: Event
            if !answers.isEmpty {
                event = answers.removeFirst()
            } else if let next = await iterator.next() {
                event = next
            } else {
                await finish()
                return
            }
            for action in machine.handle(event, now: now, random: &generator) {
                if case let .exit(exit) = action {
                    await finish()
                    switch exit {
                    case .stopped: return
                    case let .failed(message): throw FlanneldDaemon.Fatal(message)
                    }
                }
                let answered = await perform(action, table: machine.table)
                answers += answered
                // An effect that failed for good (subnet.env unwritable) is handled before the
                // rest of the batch: nothing may tell systemd "ready" after it.
                if answered.contains(where: \.endsTheAgent) { break }
            }
        }
    }

    /// Everything still running stops: timers, the watch, etcd calls (cancelled, then awaited,
    /// so nothing is left half-done), then the etcd clients.
    private func finish() async {
        for timer in timers.values { timer.cancel() }
        watch?.cancel()
        for call in calls { call.task.cancel() }
        for call in calls { await call.task.value }
        await watch?.value
        timers.removeAll()
        calls.removeAll()
        await registries.close()
    }

    // MARK: Actions

    /// Carries out one action; returns the events that answer it at once (inline effects).
    private func perform(_ action: AgentMachine.Action, table: PeerTable?) async -> [Event] {
        switch action {
        case let .log(level, message):
            logger.log(level: level.loggerLevel, "\(message)")
        case let .observe(observation):
            observe(observation)
        case let .setReadiness(reason):
            health.setNotReady(reason)
        case .notifyReady:
            if let problem = SystemdNotify.send("READY=1", environment: environment) {
                logger.warning("could not tell systemd that flanneld is ready (\(problem)); a Type=notify unit will time out")
            }
        case let .setTimer(timer, at):
            setTimer(timer, at: at)
        case let .readConfig(api):
            guard let candidate = registries.candidates.first(where: { $0.api == api }) else { break }
            let registry = candidate.registry
            call { .configRead(api, await Self.readConfig(registry)) }
        case let .useRegistry(api):
            registry = registries.candidates.first { $0.api == api }?.registry
            await registries.close(except: api)
        case let .lease(leaseCall):
            guard let registry else { break }
            call { await Self.perform(leaseCall, on: registry) }
        case .listPeers:
            guard let registry else { break }
            call {
                do {
                    return .peersListed(try await registry.listLeases())
                } catch {
                    return .peersListFailed(Self.etcdError(error))
                }
            }
        case let .watchPeers(revision):
            openWatch(after: revision)
        case let .prepareBackend(config, device, ipv6Device, plan, ipv6Plan):
            return [prepareBackend(config, device: device, ipv6Device: ipv6Device, plan: plan, ipv6Plan: ipv6Plan)]
        case let .startDataPath(subnets):
            return [startDataPath(subnets)]
        case let .moveDataPath(subnets):
            do {
                try dataPath?.move(to: subnets)
            } catch {
                // The next resync (kernel backends) or the next move tries again.
                logger.error("moving the data path to \(subnets) failed: \(error); retrying at the next resync")
            }
        case .programPeers:
            dataPath?.setPeers(table?.peers ?? [])
        case let .peer(news):
            report(news)
        case .tickDataPath:
            dataPath?.tick { table?.peers ?? [] }
        case .stopDataPath:
            dataPath?.stop()
        case let .removeOtherTrafficRules(nftables, subnets):
            await trafficKeeper(nftables: nftables, subnets: subnets).removeOtherModesLeftovers()
        case let .keepTrafficRules(nftables, subnets, quiet):
            var keeper = trafficKeeper(nftables: nftables, subnets: subnets)
            if keeper.subnets != subnets { keeper.move(to: subnets) }
            defer { traffic = keeper }
            do {
                let problems = try await keeper.keep(quiet: quiet)
                return [.trafficRulesKept(restored: problems.count, summary: keeper.summary)]
            } catch {
                return [.trafficRulesFailed("\(error)")]
            }
        case let .writeSubnetFile(file):
            do {
                try SubnetFileWriter.write(file, to: options.subnetFile)
                let ipv6 = file.ipv6Subnet.map { " FLANNEL_IPV6_SUBNET=\($0.firstHost)/\($0.prefixLength)" } ?? ""
                let ipv4 = file.subnet.map { " FLANNEL_SUBNET=\($0.firstHost)/\($0.prefixLength)" } ?? ""
                logger.info("wrote \(options.subnetFile):\(ipv4)\(ipv6) FLANNEL_MTU=\(file.mtu)")
            } catch {
                return [.subnetFileFailed("\(error)")]
            }
        case .exit:
            break
        }
        return []
    }

    /// One line per peer change; a peer the backend cannot use says why.
    private func report(_ news: AgentMachine.PeerNews) {
        let usable: Peer?
        switch news {
        case let .added(peer):
            logger.info("peer added: \(peer)")
            usable = peer
        case let .changed(old, new):
            logger.info("peer changed: \(old) → \(new)")
            usable = new
        case let .removed(peer):
            logger.info("peer removed: \(peer)")
            usable = nil
        }
        // How many leases of another backend there are is a writer's choice: budgeted.
        guard let peer = usable else { return }
        if let reason = dataPath?.ignoreReason(peer) {
            guard case let .log(heldBack) = ignoredPeerLines.admit(now: now) else { return }
            if heldBack > 0 { logger.warning("\(heldBack) more ignored peers were not logged in the last minute") }
            logger.warning("peer \(peer.key.subnets) ignored: \(reason)")
        } else if let reason = dataPath?.ipv6IgnoreReason(peer) {
            // Routed over IPv4 still (an IPv4-only host in a rolling upgrade): a note, not a warning.
            guard case let .log(heldBack) = ignoredPeerLines.admit(now: now) else { return }
            if heldBack > 0 { logger.warning("\(heldBack) more ignored peers were not logged in the last minute") }
            logger.notice("peer \(peer.key.subnets): IPv4 only, its IPv6 half is not routed: \(reason)")
        }
    }

    private func observe(_ observation: AgentMachine.Observation) {
        switch observation {
        case let .leaseAcquired(lease): metrics.leaseAcquired(lease)
        case .leaseRenewed: metrics.leaseRenewed()
        case .leaseLost: metrics.leaseLost()
        case let .drifted(from, to): metrics.drifted(from: "\(from)", to: "\(to)")
        case let .ipv6Drifted(from, to): metrics.ipv6Drifted(from: "\(from)", to: "\(to)")
        case .watchInterrupted: metrics.watchInterrupted()
        case .watchRelisted: metrics.watchRelisted()
        case let .peerCount(count): metrics.setPeers(count)
        case let .leasesIgnored(kind, count): metrics.leasesIgnored(kind, count: count)
        }
    }

    // MARK: Tasks

    private func setTimer(_ timer: AgentMachine.Timer, at deadline: Timestamp) {
        timers[timer]?.cancel()
        let instant = origin + .nanoseconds(deadline.nanoseconds)
        let sink = self.sink
        timers[timer] = Task {
            do { try await Task.sleep(until: instant, clock: ContinuousClock()) } catch { return }
            sink.yield(.timerFired(timer))
        }
    }

    /// An etcd call in a task of its own; its answer arrives as an event.
    private func call(_ body: @escaping @Sendable () async -> Event) {
        let sink = self.sink
        let done = CallDone()
        // Finished calls are forgotten, so waiting days for a config does not pile them up.
        calls.removeAll { $0.done.isSet }
        calls.append((Task {
            let answer = await body()
            done.set()
            if !Task.isCancelled { sink.yield(answer) }
        }, done))
    }

    private func openWatch(after revision: Int64) {
        guard let registry else { return }
        watch?.cancel()
        let sink = self.sink
        let task = Task { await AgentRunner.follow(registry, after: revision, into: sink) }
        watch = task
    }

    private static func follow(_ registry: any Registry, after revision: Int64, into sink: AsyncStream<Event>.Continuation) async {
        do {
            for try await batch in registry.watchLeases(after: revision) {
                sink.yield(.watchDelivered(batch))
            }
            if !Task.isCancelled { sink.yield(.watchBroken(nil)) }
        } catch {
            if Task.isCancelled || error is CancellationError { return }
            sink.yield(.watchBroken(etcdError(error)))
        }
    }

    private static func perform(_ call: AgentMachine.LeaseCall, on registry: any Registry) async -> Event {
        do {
            switch call {
            case .list:
                return .leasesListed(try await registry.listLeases())
            case let .create(key, attributes, ttl):
                return .leaseCreated(modRevision: try await registry.createLease(key, attributes: attributes, ttl: ttl))
            case let .update(key, attributes, ttl, expected):
                return .leaseUpdated(try await registry.updateLease(key, attributes: attributes, ttl: ttl, expectedModRevision: expected))
            case let .delete(key, expected):
                try await registry.deleteLease(key, expectedModRevision: expected)
                return .leaseDeleted
            }
        } catch {
            return .leaseCallFailed("\(error)")
        }
    }

    /// The config text (nil: the key does not exist), or the etcd error that prevented reading it.
    private static func readConfig(_ registry: any Registry) async -> Result<String?, EtcdError> {
        do {
            return .success(try await registry.networkConfig())
        } catch {
            return .failure(etcdError(error))
        }
    }

    private static func etcdError(_ error: any Error) -> EtcdError {
        error as? EtcdError ?? .unavailable("\(error)")
    }

    // MARK: Backend and data path

    private func prepareBackend(_ config: BackendConfig, device: BackendDevice?, ipv6Device: BackendDevice?,
                                plan: SubnetPlan<IPv4Address>?, ipv6Plan: SubnetPlan<IPv6Address>?) -> Event {
        let host = LinuxBackendHost(external: external, publicIP: publicIP, ipv4: plan,
                                    ipv6: ipv6Plan, externalIPv6: externalIPv6, udpOffload: options.udpOffload,
                                    wireguardImplementation: options.wireguardImplementation, logger: logger)
        do {
            let prepared = try LinuxBackends.prepare(config, device: device, ipv6Device: ipv6Device, on: host)
            backend = prepared
            return .backendPrepared(device: prepared.deviceIdentity, ipv6Device: prepared.ipv6DeviceIdentity)
        } catch {
            return .backendFailed("\(config.typeName) backend: \(error)")
        }
    }

    private func startDataPath(_ subnets: OwnSubnets) -> Event {
        guard let backend else { return .dataPathFailed("no backend was prepared") }
        let sink = self.sink
        do {
            let started = try backend.start(subnets, onFailure: { sink.yield(.dataPathFailed($0)) })
            dataPath = started
            if let source = started.metricsSource {
                let metrics = self.metrics
                health.setMetrics { source(metrics) }
            }
            return .dataPathStarted
        } catch {
            return .dataPathFailed("\(error)")
        }
    }

    private func trafficKeeper(nftables: Bool, subnets: OwnSubnets) -> TrafficRuleKeeper {
        if let traffic { return traffic }
        let keeper = TrafficRuleKeeper(useNFTables: nftables, subnets: subnets, ipMasq: options.ipMasq,
                                       forwardRules: options.iptablesForwardRules, logger: logger)
        traffic = keeper
        return keeper
    }
}

extension AgentMachine.Event {
    /// An answer after which the machine exits: the batch it answers stops there.
    var endsTheAgent: Bool {
        switch self {
        case .subnetFileFailed, .backendFailed: true
        default: false
        }
    }
}

extension AgentMachine.LogLevel {
    var loggerLevel: Logger.Level {
        switch self {
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        }
    }
}

/// Set by an etcd call's task when it has finished.
private final class CallDone: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .releasing) }
    var isSet: Bool { flag.load(ordering: .acquiring) }
}
