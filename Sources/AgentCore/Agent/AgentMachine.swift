/// Every decision flanneld makes, as one state machine: events in (with the time), actions out.
///
/// The daemon carries the actions out with real effects (etcd, netlink, iptables, files,
/// timers), the simulator with simulated ones; neither holds agent policy of its own, so a
/// difference between the two worlds is a bug here or in an executor, never a second copy.
///
/// Life of an agent:
/// ```
///  waitingForConfig ─config─▶ preparingBackend ─prepared─▶ acquiring ─lease─▶ startingDataPath
///     ▲ └─ wait (Backoff.networkConfig)                                            │
///     └──────────────────────────────────────────────                         keepingRules
///                                                                                  │
///  stopped ◀── stop / fatal, from any phase        running ◀─listed─ listingPeers ◀┘
/// ```
/// The lease's own life (renew, reclaim, drift) is `LeaseMachine`'s, run inside this one.
public struct AgentMachine: Sendable {
    public struct Configuration: Sendable {
        public var etcdAPI: EtcdAPI
        public var layout: EtcdKeyLayout
        /// The external interface and public IP: what the backend needs to know of the host.
        public var host: BackendHost
        public var publicIP: IPv4Address { host.publicIP }
        public var leaseTTL: Duration
        /// The TTL as the operator wrote it (`--subnet-lease-ttl`), for the log.
        public var leaseTTLText: String
        public var renewMargin: Duration
        /// The subnet the subnet file of a previous run names, asked for first.
        public var previousSubnet: IPv4Network?
        /// Its IPv6 subnet (`FLANNEL_IPV6_SUBNET`), asked for first on a dual-stack network.
        public var previousIPv6Subnet: IPv6Network?
        public var ipMasq: Bool
        public var forwardRules: Bool
        /// `--iptables-resync`, in seconds.
        public var trafficResyncSeconds: Int
        /// How often the data path is ticked (udp: drop summary; kernel backends: resync).
        public var dataPathTick: Duration
        /// Whether each peer change is reported (`Action.peer`): the daemon logs one line per
        /// peer; a simulation of thousands of hosts only wants the data path programmed.
        public var reportsPeerChanges = true
        /// Spread renewals and retries (`Jitter`, seeded at start from the randomness handed
        /// in), as a deployed agent does; off, timers are exact (tests that assert them).
        public var spreadsTimers = false

        public init(etcdAPI: EtcdAPI, layout: EtcdKeyLayout, host: BackendHost, leaseTTL: Duration, leaseTTLText: String,
                    renewMargin: Duration, previousSubnet: IPv4Network?, ipMasq: Bool, forwardRules: Bool,
                    trafficResyncSeconds: Int = 5, dataPathTick: Duration = .seconds(10), previousIPv6Subnet: IPv6Network? = nil) {
            self.previousIPv6Subnet = previousIPv6Subnet
            self.etcdAPI = etcdAPI
            self.layout = layout
            self.host = host
            self.leaseTTL = leaseTTL
            self.leaseTTLText = leaseTTLText
            self.renewMargin = renewMargin
            self.previousSubnet = previousSubnet
            self.ipMasq = ipMasq
            self.forwardRules = forwardRules
            self.trafficResyncSeconds = trafficResyncSeconds
            self.dataPathTick = dataPathTick
        }

        var keepsTrafficRules: Bool { ipMasq || forwardRules }
        var trafficResync: Duration { .seconds(max(1, trafficResyncSeconds)) }
    }

    public enum Phase: Equatable, Sendable {
        case idle
        case waitingForConfig
        case preparingBackend
        case acquiring
        case startingDataPath
        case keepingRules
        case listingPeers
        case running
        case stopped
    }

    /// Why the traffic rules were last asked for; answers come back in the order asked.
    enum TrafficRequest: Equatable, Sendable {
        case start(attempt: Int)
        case moved(SubnetKey)
        case resync
    }

    public let configuration: Configuration
    public internal(set) var phase: Phase = .idle
    public internal(set) var config: NetworkConfig?
    public internal(set) var mtu: Int?
    public internal(set) var lease: LeaseMachine?
    /// The lease the data path and subnet file are set up for.
    public internal(set) var held: HeldLease?
    public internal(set) var table: PeerTable?
    var dataPathRunning = false

    var configBackoff = Backoff.networkConfig
    var configProblem: String?
    var firstConfigAnswer: Result<String?, EtcdError>?

    /// Which leases are believed, from the network config.
    var screen: LeaseScreen?
    var leaseWarnings = LeaseWarnings()

    var leaseCallDescription = ""
    var creatingKey: SubnetKey?

    var listingBackoff = Backoff.etcdRead
    var watchBackoff = Backoff.leaseWatch
    /// Seeded at start when `spreadsTimers`; each timer draws from its own stream.
    var jitter: Jitter?
    var watchRevision: Int64 = 0
    var watchProblem: String?
    /// The revision the watch found compacted, while re-listing.
    var relistingAfterCompaction: Int64?

    /// The watch revision when the simulator started delivering our watch lazily.
    var followedSince: Int64?

    var trafficRequests: [TrafficRequest] = []
    /// The start-up attempt waiting for `.trafficRetry`.
    var pendingTrafficRetry: TrafficRequest?
    var trafficFailure: String?

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public var plan: SubnetPlan<IPv4Address>? { config?.ipv4 }

    private func screened(_ listing: LeaseListing) -> LeaseListing { screen?.screen(listing) ?? listing }

    /// Handles one event; the world carries out the returned actions in order. `sharing`
    /// lets the simulator's thousands of agents hold one copy of the same leases.
    public mutating func handle(_ event: Event, now: Timestamp, random: inout some RandomNumberGenerator,
                                sharing: PeerTable.Sharing? = nil) -> [Action] {
        if phase == .stopped { return [] }
        switch event {
        case .start:
            guard phase == .idle else { return [] }
            if configuration.spreadsTimers {
                let seeded = Jitter(seed: UInt64.random(in: 0...UInt64.max, using: &random))
                jitter = seeded
                configBackoff.jitter = seeded.derived(3)
                listingBackoff.jitter = seeded.derived(4)
                watchBackoff.jitter = seeded.derived(5)
            }
            phase = .waitingForConfig
            return [.setReadiness("waiting for the network config"), .readConfig(configuration.etcdAPI.candidates[0])]
        case let .stop(signal):
            return stop(signal: signal)
        case let .timerFired(timer):
            return timerFired(timer, now: now)
        case let .configRead(api, answer):
            return configRead(api, answer, now: now)
        case let .backendPrepared(device, ipv6Device):
            return backendPrepared(device: device, ipv6Device: ipv6Device, now: now)
        case let .backendFailed(message):
            return exit(.failed(message))
        case let .leasesListed(listing):
            // The lease machine sees every record (our own unfit lease is deleted) and lets
            // only plan-sized keys occupy a subnet.
            let warnings = leaseWarnings.warn(screened(listing).malformed, now: now)
            return warnings + runLease(now: now) { $0.leasesListed(listing, now: now, using: &random) }
        case let .leaseCreated(revision):
            let taken = revision == nil ? creatingKey.map { [Action.log(.info, "subnet \($0.subnets) was taken by another host first; choosing again")] } ?? [] : []
            return taken + runLease(now: now) { $0.createCompleted(modRevision: revision, now: now) }
        case let .leaseUpdated(outcome):
            return runLease(now: now) { $0.updateCompleted(outcome, now: now) }
        case .leaseDeleted:
            return runLease(now: now) { $0.deleteCompleted(now: now) }
        case let .leaseCallFailed(error):
            return [.log(.warning, "\(leaseCallDescription) failed: \(error); retrying")] + runLease(now: now) { $0.operationFailed(now: now) }
        case .dataPathStarted:
            return dataPathStarted(now: now)
        case let .dataPathFailed(reason):
            return dataPathFailed(reason)
        case let .subnetFileFailed(message):
            return exit(.failed(message))
        case let .trafficRulesKept(restored, summary):
            return trafficRulesKept(restored: restored, summary: summary, now: now)
        case let .trafficRulesFailed(error):
            return trafficRulesFailed(error, now: now)
        case let .peersListed(listing):
            return peersListed(screened(listing), now: now, sharing: sharing)
        case let .peersListFailed(error):
            return peersListFailed(error, now: now)
        case let .watchDelivered(batch):
            return watchDelivered(screen?.screen(batch) ?? batch, now: now, sharing: sharing)
        case let .watchBroken(error):
            return watchBroken(error, now: now)
        }
    }

    // MARK: Config and backend

    private mutating func configRead(_ api: EtcdAPI, _ answer: Result<String?, EtcdError>, now: Timestamp) -> [Action] {
        guard phase == .waitingForConfig else { return [] }
        let candidates = configuration.etcdAPI.candidates
        let source: EtcdConfigSource
        if api == candidates[0] {
            if case .success(nil) = answer, candidates.count > 1 {
                firstConfigAnswer = answer
                return [.readConfig(candidates[1])]
            }
            source = EtcdConfigSource.decide(api: configuration.etcdAPI, first: (api, answer), second: nil, layout: configuration.layout)
        } else {
            source = EtcdConfigSource.decide(api: configuration.etcdAPI, first: (candidates[0], firstConfigAnswer ?? .success(nil)),
                                             second: (api, answer), layout: configuration.layout)
        }
        firstConfigAnswer = nil
        let configKey = configuration.layout.configKey
        let problem: String
        switch source {
        case let .fail(message):
            return exit(.failed(message))
        case let .wait(reason):
            problem = reason
        case let .use(chosen, text):
            do {
                let config = try NetworkConfig.decode(text)
                return configFound(config, api: chosen)
            } catch {
                problem = "\(error) (at \(configKey), etcd \(chosen.rawValue) API); waiting for a valid config"
            }
        }
        var actions: [Action] = []
        if problem != configProblem {
            actions.append(.log(.warning, problem))
            configProblem = problem
        }
        actions.append(.setTimer(.configRetry, at: now + configBackoff.failed()))
        return actions
    }

    private mutating func configFound(_ config: NetworkConfig, api: EtcdAPI) -> [Action] {
        let configKey = configuration.layout.configKey
        var actions: [Action] = []
        if configProblem != nil { actions.append(.log(.info, "network config found at \(configKey)")) }
        switch (configuration.etcdAPI, api) {
        case (.auto, .v2):
            actions.append(.log(.notice, "using etcd's v2 API: \(configKey) exists only in the v2 store (--etcd-api=auto; the v3 store has none)"))
        case (.auto, _):
            actions.append(.log(.info, "using etcd's v3 API (--etcd-api=auto: the config is in the v3 store)"))
        default:
            actions.append(.log(.info, "using etcd's \(api.rawValue) API (--etcd-api=\(configuration.etcdAPI.rawValue))"))
        }
        actions.append(.useRegistry(api))
        self.config = config
        screen = LeaseScreen(ipv4: config.ipv4, ipv6: config.ipv6, layout: configuration.layout)
        let backend = config.backend.backend
        // An IPv6-only network (EnableIPv4 false) has no IPv4 device, MTU rule or lease data.
        if let ipv4 = config.ipv4 {
            let host = configuration.host
            if host.externalAddress == .any {
                return actions + exit(.failed("network config: Network \(ipv4.network) is IPv4, but \(host.externalName) has no IPv4 address; give \(host.externalName) one, choose another interface with --iface, or run an IPv6-only network (EnableIPv4 false with an IPv6Network)"))
            }
            // 0.0.0.0 is every IPv6-only host's PublicIP: no IPv4 host can be told apart by it.
            if host.publicIP == .any {
                return actions + exit(.failed("--public-ip 0.0.0.0: an IPv4 network (\(ipv4.network)) needs an address peers can reach; give a real one, or leave --public-ip out to use \(host.externalName)'s \(host.externalAddress)"))
            }
            if let refusal = backend.refusal(on: host) {
                return actions + exit(.failed(refusal))
            }
        }
        var ipv6Device: BackendDevice?
        if let ipv6 = config.ipv6 {
            if config.enableNFTables && configuration.keepsTrafficRules {
                return actions + exit(.failed("network config: EnableIPv6 with EnableNFTables: this agent keeps the IPv6 masquerade and forward rules in ip6tables only; set EnableNFTables to false (or run with --ip-masq=false --iptables-forward-rules=false)"))
            }
            if let refusal = Self.ipv6Refusal(backend, ipv6, host: configuration.host, ipv6Only: config.ipv4 == nil) {
                return actions + exit(.failed(refusal))
            }
            ipv6Device = backend.ipv6Device(on: configuration.host)
        }
        phase = .preparingBackend
        // The backend's device comes before the lease: vxlan's lease carries its MAC, wireguard's its key.
        return actions + [.prepareBackend(config.backend, device: config.ipv4 == nil ? nil : backend.device(on: configuration.host),
                                          ipv6Device: ipv6Device, plan: config.ipv4, ipv6Plan: config.ipv6)]
    }

    /// Why a dual-stack network cannot run here, saying what to change; nil when it can.
    static func ipv6Refusal(_ backend: any Backend, _ plan: SubnetPlan<IPv6Address>, host: BackendHost, ipv6Only: Bool = false) -> String? {
        // Without IPv4 there is nothing to fall back to: "set EnableIPv6 to false" is no advice.
        let alternative = ipv6Only ? "set EnableIPv4 to true with a Network" : "set EnableIPv6 to false"
        guard backend.carriesIPv6 else {
            let setting = ipv6Only ? "EnableIPv4 is false (an IPv6-only network)" : "EnableIPv6 is set"
            return "network config: \(setting), but the \(backend.typeName) backend carries IPv4 only (as upstream's does); use the vxlan or host-gw backend for IPv6, or \(alternative)"
        }
        guard host.publicIPv6 != nil else {
            return "network config: EnableIPv6 is set (IPv6Network \(plan.network)), but \(host.externalName) has no global IPv6 address and --public-ipv6 is not given; give \(host.externalName) an IPv6 address, pass --public-ipv6, or \(alternative)"
        }
        return backend.ipv6Refusal(on: host)
    }

    private mutating func backendPrepared(device: BackendDeviceIdentity?, ipv6Device: BackendDeviceIdentity?, now: Timestamp) -> [Action] {
        guard phase == .preparingBackend, let config else { return [] }
        let backend = config.backend.backend
        // IPv6-only, every packet crosses the IPv6 device: its MTU is the containers'.
        mtu = config.ipv4 == nil ? backend.ipv6MTU(on: configuration.host) : backend.mtu(on: configuration.host)
        phase = .acquiring
        var attributes = backend.leaseAttributes(publicIP: configuration.publicIP, device: device)
        if config.ipv4 == nil {
            // As upstream: PublicIP 0.0.0.0 (the host is known by PublicIPv6, even if it has an
            // IPv4 address, which NAT may give several hosts), no IPv4 backend data.
            attributes.publicIP = .any
            attributes.backendData = nil
        }
        if config.ipv6 != nil {
            attributes.publicIPv6 = configuration.host.publicIPv6
            attributes.backendV6Data = backend.ipv6LeaseData(device: ipv6Device)
        }
        var leaseConfiguration = LeaseMachine.Configuration(
            plan: config.ipv4, ipv6Plan: config.ipv6, attributes: attributes, ttl: configuration.leaseTTL,
            renewMargin: configuration.renewMargin, previousSubnet: configuration.previousSubnet,
            previousIPv6Subnet: configuration.previousIPv6Subnet)
        leaseConfiguration.jitter = jitter?.derived(6)
        lease = LeaseMachine(configuration: leaseConfiguration)
        return [.setReadiness("acquiring a subnet lease")] + runLease(now: now) { $0.start() }
    }

    // MARK: Timers

    private mutating func timerFired(_ timer: Timer, now: Timestamp) -> [Action] {
        switch timer {
        case .configRetry:
            guard phase == .waitingForConfig else { return [] }
            return [.readConfig(configuration.etcdAPI.candidates[0])]
        case .lease:
            // The lease machine ignores whichever of the two is not due.
            return runLease(now: now) { $0.renewalDue(now: now) + $0.retryDue(now: now) }
        case .peersListRetry:
            guard phase == .listingPeers else { return [] }
            return [.listPeers]
        case .watchRetry:
            guard phase == .running else { return [] }
            return [.watchPeers(after: watchRevision)]
        case .trafficRetry:
            guard phase == .keepingRules, case let .start(attempt)? = pendingTrafficRetry else { return [] }
            pendingTrafficRetry = nil
            return keepTrafficRules(.start(attempt: attempt), quiet: true)
        case .trafficResync:
            guard phase == .running else { return [] }
            return keepTrafficRules(.resync, quiet: false)
        case .dataPathTick:
            guard phase == .running else { return [] }
            return [.tickDataPath, .setTimer(.dataPathTick, at: now + configuration.dataPathTick)]
        }
    }

    // MARK: Stopping

    private mutating func stop(signal: String) -> [Action] {
        let kept = held.map { "the lease \($0.key.subnets) stays until its TTL runs out" } ?? ""
        let message: String
        switch phase {
        case .idle, .waitingForConfig: message = "stopping while waiting for the network config"
        case .preparingBackend, .acquiring: message = "stopping before a lease was acquired"
        case .startingDataPath, .keepingRules, .listingPeers: message = "stopping before the peers were listed (\(kept))"
        case .running: message = "received \(signal); stopping (\(kept))"
        case .stopped: return []
        }
        return [.log(.info, message)] + exit(.stopped)
    }

    /// Ends the agent: the data path is stopped (kernel backends leave their state for the next
    /// start), everything else is the world's to stop.
    mutating func exit(_ exit: Exit) -> [Action] {
        let stopping: [Action] = dataPathRunning ? [.stopDataPath] : []
        dataPathRunning = false
        phase = .stopped
        return stopping + [.exit(exit)]
    }
}
