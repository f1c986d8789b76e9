import CLinuxShims
import Dispatch
import Foundation
import Logging
import Synchronization

/// The agent on a real host: etcd, lease, data path (udp, vxlan or host-gw), subnet.env, peers, signals.
/// Start-up order: capabilities, options, interface, config (waiting until it is there and
/// valid), lease, data path, subnet file, peers.
public struct FlanneldDaemon {
    public let options: FlanneldOptions
    public let environment: [String: String]
    let logger: Logger
    let stopRequested = StopFlag()
    /// What `/metrics` shows.
    let metrics = AgentMetrics()

    public init(options: FlanneldOptions, environment: [String: String], logger: Logger) {
        self.options = options
        self.environment = environment
        self.logger = logger
    }

    public struct Fatal: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Runs until SIGTERM/SIGINT (exit 0) or a fatal error (thrown).
    public func run() async throws {
        // Everything that happens arrives as one stream of events; signals are caught from
        // the start so that a stop during start-up is a clean exit too.
        enum Event: Sendable {
            case watch(LeaseWatcher.Update)
            case lease(LeaseDriver.Notification)
            case signal(Int32)
            case tick
            case trafficResync
            case dataPathFailed(String)
        }
        let (events, sink) = AsyncStream.makeStream(of: Event.self)
        var eventIterator = events.makeAsyncIterator()
        let stopRequested = self.stopRequested
        // A child (iptables, nft) that exits before reading its input must not kill us with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        let sources = [SIGTERM, SIGINT].map { number -> DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler {
                stopRequested.request()
                sink.yield(.signal(number))
                // Whatever phase we are in (an etcd call may be stuck on its deadline), the
                // process is gone within a second; the lease stays, flannel0 goes with the fd.
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(800)) { exit(0) }
            }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }

        guard flannel_has_cap_net_admin() else {
            throw Fatal("flanneld needs CAP_NET_ADMIN to create flannel0 and its routes: run it as root (or `setcap cap_net_admin+ep` on the binary)")
        }
        let endpoints = try EtcdEndpoint.parseList(options.etcdEndpoints)
        let password = try EtcdPassword.resolve(flag: options.etcdPassword, file: options.etcdPasswordFile, environment: environment)
        let ttl = try LeaseTTLText.parse(options.subnetLeaseTTL)
        guard (1...1439).contains(options.subnetLeaseRenewMargin) else {
            throw Fatal("--subnet-lease-renew-margin: \(options.subnetLeaseRenewMargin) is out of range; use 1 to 1439 (minutes)")
        }
        let selection = InterfaceSelection(ifaces: options.iface, ifaceRegexes: options.ifaceRegex,
                                           canReach: options.ifaceCanReach, publicIP: options.publicIP)
        let (external, publicIP) = try selection.select(
            from: NetworkInterface.all(), defaultRoute: NetworkInterface.defaultRouteInterfaceName(),
            routeSource: NetworkInterface.sourceAddress(toward:))
        logger.info("using interface \(external.name) with address \(external.address); public IP \(publicIP)")
        guard external.mtu >= 68 + 28 else {
            throw Fatal("interface \(external.name) reports MTU \(external.mtu); flannel0 needs at least 96 (68 + 28 of encapsulation)")
        }

        let health = HealthServer()
        if options.healthzPort != 0 {
            do {
                try await health.start(host: options.healthzIP, port: options.healthzPort)
                logger.info("health endpoints on http://\(options.healthzIP):\(options.healthzPort)/healthz, /readyz and /metrics")
            } catch {
                throw Fatal("--healthz-ip/--healthz-port: cannot listen on \(options.healthzIP):\(options.healthzPort): \(error)")
            }
        }
        defer { health.stop() }
        health.setNotReady("waiting for the network config")
        let metrics = self.metrics
        health.setMetrics { metrics.render() }

        let layout = EtcdKeyLayout(prefix: options.etcdPrefix)
        let client = try EtcdRegistries(api: options.etcdAPI, configuration: EtcdClientConfiguration(
            endpoints: endpoints, caFile: options.etcdCAFile, certFile: options.etcdCertFile, keyFile: options.etcdKeyFile,
            username: options.etcdUsername, password: password), layout: layout)

        let config: NetworkConfig
        let registry: any Registry
        do {
            (config, registry) = try await waitForConfig(client, layout: layout, api: options.etcdAPI)
        } catch is Stopped {
            logger.info("stopping while waiting for the network config")
            await client.close()
            return
        } catch {
            await client.close()
            throw error
        }
        guard let plan = config.ipv4 else { throw Fatal("network config: IPv4 is disabled; this agent needs an IPv4 Network") }
        // The backend's device comes before the lease: vxlan's lease carries the device's MAC.
        let backend: BackendSetup
        do {
            backend = try BackendSetup.prepare(config.backend, external: external, publicIP: publicIP, network: plan.network,
                                            subnetLength: plan.subnetLength, logger: logger)
        } catch let error as BackendSetup.Refusal {
            throw Fatal(error.description)
        } catch {
            throw Fatal("\(config.backend.typeName) backend: \(error)")
        }
        let mtu = backend.mtu

        // The lease.
        health.setNotReady("acquiring a subnet lease")
        let previous = SubnetFileWriter.previousSubnet(at: options.subnetFile)
        let driver = LeaseDriver(
            configuration: .init(plan: plan, attributes: backend.leaseAttributes, ttl: ttl,
                                 renewMargin: .seconds(options.subnetLeaseRenewMargin * 60), previousSubnet: previous),
            registry: registry, logger: logger,
            notify: { sink.yield(.lease($0)) })
        // Not awaited: a signal must be seen while the first acquisition talks to etcd.
        Task { await driver.start() }
        var lease: HeldLease?
        while lease == nil, let event = await eventIterator.next() {
            switch event {
            case let .lease(.acquired(held)):
                lease = held
                metrics.leaseAcquired(held)
            case let .lease(.drifted(from, to)):
                metrics.drifted(from: from, to: to)
                logger.error("SUBNET CHANGED: this host had \(from), it now holds \(to); containers on \(from) must be restarted")
            case let .lease(.failed(error)): throw Fatal("\(error)")
            case .signal:
                logger.info("stopping before a lease was acquired")
                await driver.stop()
                await client.close()
                return
            case .lease, .watch, .tick, .trafficResync, .dataPathFailed: break
            }
        }
        guard var held = lease else { throw Fatal("the lease could not be acquired") }
        logger.info("acquired lease \(held.subnet) (\(held.isReservation ? "reservation, no TTL" : "TTL \(options.subnetLeaseTTL)")) at \(layout.leaseKey(held.key))")

        // The data path.
        let dataPath = try backend.start(subnet: held.subnet, network: plan.network, external: external, udpOffload: options.udpOffload,
                                         onFailure: { sink.yield(.dataPathFailed($0)) })
        if case let .udp(_, proxy, _) = dataPath.kind { health.setMetrics { metrics.render(udp: proxy.snapshot) } }

        // The rules before subnet.env: whatever reads it (docker, CNI) finds them in place.
        var traffic = TrafficRuleKeeper(useNFTables: config.enableNFTables, network: plan.network, subnet: held.subnet,
                                        ipMasq: options.ipMasq, forwardRules: options.iptablesForwardRules, logger: logger)
        await traffic.removeOtherModesLeftovers()
        if !traffic.isEmpty {
            var attempt = 1
            while true {
                do {
                    try await traffic.keep(quiet: true)
                    logger.info("\(traffic.tool): \(traffic.summary); --ip-masq=\(options.ipMasq), --iptables-forward-rules=\(options.iptablesForwardRules)")
                    break
                } catch {
                    // iptables may wait a while for the xtables lock (kube-proxy, docker): a few tries.
                    if attempt < 5 && !stopRequested.isRequested {
                        logger.warning("\(traffic.tool): \(error); trying again in 2 s")
                        attempt += 1
                        try? await Task.sleep(for: .seconds(2))
                        continue
                    }
                    if options.ipMasq { throw Fatal("--ip-masq: \(error)") }
                    logger.error("--iptables-forward-rules: \(error); forwarded traffic may be dropped by the FORWARD policy (retrying every \(options.iptablesResync) s)")
                    break
                }
            }
        }

        let subnetFile = SubnetFile(network: plan.network, subnet: held.subnet, mtu: mtu, ipMasq: options.ipMasq)
        try SubnetFileWriter.write(subnetFile, to: options.subnetFile)
        logger.info("wrote \(options.subnetFile): FLANNEL_SUBNET=\(held.subnet.firstHost)/\(held.subnet.prefixLength) FLANNEL_MTU=\(mtu)")
        if let problem = SystemdNotify.send("READY=1", environment: environment) {
            logger.warning("could not tell systemd that flanneld is ready (\(problem)); a Type=notify unit will time out")
        }

        // Peers.
        var table = PeerTable(ownPublicIP: publicIP, ownKey: held.key)
        let listing: LeaseListing
        do {
            listing = try await retrying("listing leases") { try await registry.listLeases() }
        } catch is Stopped {
            logger.info("stopping before the peers were listed (the lease \(held.subnet) stays until its TTL runs out)")
            dataPath.stop()
            return
        }
        // Our own lease's fate goes to the lease driver in order, through one stream.
        let (ownLeaseEvents, ownLeaseSink) = AsyncStream.makeStream(of: PeerTable.Change.self)
        let ownLeaseTask = Task {
            for await change in ownLeaseEvents {
                switch change {
                case .ownLeaseRemoved: await driver.ownLeaseRemoved()
                case let .ownLeaseOverwritten(_, holder, _): await driver.ownLeaseOverwritten(by: holder)
                default: break
                }
            }
        }
        defer { ownLeaseTask.cancel() }
        let apply = { (changes: [PeerTable.Change], table: PeerTable, held: HeldLease) in
            self.apply(changes, dataPath: dataPath, table: table, held: held, ownLease: ownLeaseSink)
        }
        apply(table.applySnapshot(listing), table, held)
        // Once at start whatever the listing said: with no peers at all, the kernel backends
        // still remove what a previous run left behind.
        dataPath.setPeers(table.peers)
        let updates = LeaseWatcher(registry: registry).updates(after: listing.revision)
        let watchTask = Task { for await update in updates { sink.yield(.watch(update)) } }
        defer { watchTask.cancel() }

        health.setNotReady(nil)
        logger.info("ready")
        // Drops are counted per packet and summarised here, so bad traffic never floods the log.
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(10))
                sink.yield(.tick)
            }
        }
        defer { ticker.cancel() }
        let keepsTraffic = !traffic.isEmpty, trafficResync = max(1, options.iptablesResync)
        let trafficTicker = Task {
            guard keepsTraffic else { return }
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(trafficResync))
                sink.yield(.trafficResync)
            }
        }
        defer { trafficTicker.cancel() }
        var trafficFailure: String?
        while let event = await eventIterator.next() {
            switch event {
            case let .watch(.events(batch)):
                apply(table.apply(batch), table, held)
            case let .watch(.resynced(listing)):
                metrics.watchRelisted()
                logger.notice("etcd history was compacted; re-listed \(listing.records.count) leases at revision \(listing.revision)")
                apply(table.applySnapshot(listing), table, held)
            case let .watch(.interrupted(reason, retryIn)):
                metrics.watchInterrupted()
                logger.warning("lease watch interrupted: \(reason); retrying in \(retryIn) (forwarding continues)")
            case let .watch(.resumed(revision)):
                logger.notice("lease watch resumed after revision \(revision)")
            case let .lease(.renewed(renewed)):
                held = renewed
                metrics.leaseRenewed()
                logger.debug("renewed lease \(renewed.subnet)")
            case let .lease(.lost(key, holder)):
                metrics.leaseLost()
                health.setNotReady("the lease \(key.ipv4) was lost; acquiring again")
                let holderText = holder.map { ": now held by \($0)" } ?? ""
                logger.warning("lost lease \(key.ipv4)\(holderText); acquiring again")
            case let .lease(.drifted(from, to)):
                metrics.drifted(from: from, to: to)
                logger.error("SUBNET CHANGED: this host had \(from), it now holds \(to); containers on \(from) must be restarted")
            case let .lease(.acquired(newLease)):
                metrics.leaseAcquired(newLease)
                if newLease.subnet != held.subnet {
                    do {
                        try dataPath.move(to: newLease.subnet, network: plan.network)
                    } catch {
                        // The next resync (kernel backends) or the next move tries again.
                        logger.error("moving the data path to \(newLease.subnet) failed: \(error); retrying at the next resync")
                    }
                    try SubnetFileWriter.write(SubnetFile(network: plan.network, subnet: newLease.subnet, mtu: mtu, ipMasq: options.ipMasq),
                                               to: options.subnetFile)
                }
                held = newLease
                health.setNotReady(nil)
                apply(table.setOwnKey(newLease.key), table, held)
                if !traffic.isEmpty && newLease.subnet != traffic.subnet {
                    traffic.move(to: newLease.subnet)
                    do {
                        try await traffic.keep(quiet: true)
                        logger.notice("\(traffic.tool) rules re-made for \(newLease.subnet)")
                    } catch {
                        logger.error("\(traffic.tool): \(error); retrying every \(options.iptablesResync) s")
                    }
                }
            case let .lease(.failed(error)):
                dataPath.stop()
                throw Fatal("\(error)")
            case let .dataPathFailed(reason):
                health.setNotReady("data path failed: \(reason)")
                throw Fatal("\(config.backend.typeName) backend: \(reason); exiting so that the service manager restarts the agent")
            case .tick:
                dataPath.tick(peers: table.peers)
            case .trafficResync:
                do {
                    let problems = try await traffic.keep(quiet: false)
                    if problems.isEmpty { logger.debug("\(traffic.tool) rules checked: in place") }
                    if trafficFailure != nil { logger.notice("\(traffic.tool) rules restored") }
                    trafficFailure = nil
                } catch {
                    // The same failure once, not every resync.
                    if trafficFailure != "\(error)" { logger.error("\(traffic.tool): \(error); retrying every \(options.iptablesResync) s") }
                    trafficFailure = "\(error)"
                }
            case let .signal(number):
                logger.info("received \(number == SIGTERM ? "SIGTERM" : "SIGINT"); stopping (the lease \(held.subnet) stays until its TTL runs out)")
                // The process exits right after: no graceful gRPC shutdown to wait for, and the
                // fds stay open until exit so that no proxy thread touches a reused number.
                dataPath.stop()
                await driver.stop()
                return
            }
        }
    }

    /// Logs and programs peer changes; hands our own lease's fate to the lease driver (in
    /// order), ignoring news about our key older than our last write (a resumed watch can
    /// replay the delete of a lease we have since re-created).
    private func apply(_ changes: [PeerTable.Change], dataPath: DataPath, table: PeerTable, held: HeldLease,
                       ownLease: AsyncStream<PeerTable.Change>.Continuation) {
        var routesChanged = false
        for change in changes {
            switch change {
            case let .added(peer):
                logger.info("peer added: \(peer)")
                if let reason = dataPath.ignoreReason(peer) { logger.warning("peer \(peer.subnet) ignored: \(reason)") }
                routesChanged = true
            case let .changed(old, new):
                logger.info("peer changed: \(old) → \(new)")
                if let reason = dataPath.ignoreReason(new) { logger.warning("peer \(new.subnet) ignored: \(reason)") }
                routesChanged = true
            case let .removed(peer):
                logger.info("peer removed: \(peer)")
                routesChanged = true
            case let .malformed(problem):
                logger.warning("\(problem)")
            case let .ownLeaseRemoved(_, revision), let .ownLeaseOverwritten(_, _, revision):
                if revision > held.modRevision { ownLease.yield(change) }
            }
        }
        if routesChanged {
            dataPath.setPeers(table.peers)
            metrics.setPeers(table.peers.count)
        }
    }

    /// Reads the network config, waiting (and saying what for) until it exists and is valid;
    /// with `--etcd-api=auto` from v3, and from v2 only when v3 answered that it has none
    /// (never because v3 failed: that could split a cluster across the two stores). Says
    /// which API it settled on and why.
    private func waitForConfig(_ registries: EtcdRegistries, layout: EtcdKeyLayout, api: EtcdAPI) async throws
        -> (NetworkConfig, any Registry) {
        var lastProblem: String?
        var backoff = Backoff.networkConfig
        while true {
            var problem: String
            var found: (text: String, api: EtcdAPI, registry: any Registry)?
            let (firstAPI, first) = registries.candidates[0]
            let firstAnswer = await Self.readConfig(first)
            var secondAnswer: (EtcdAPI, Result<String?, EtcdError>)?
            if case .success(nil) = firstAnswer, registries.candidates.count > 1 {
                secondAnswer = (registries.candidates[1].api, await Self.readConfig(registries.candidates[1].registry))
            }
            switch EtcdConfigSource.decide(api: api, first: (firstAPI, firstAnswer), second: secondAnswer, layout: layout) {
            case let .use(chosen, text):
                found = registries.candidates.first { $0.api == chosen }.map { (text, chosen, $0.registry) }
                problem = "no client for etcd's \(chosen.rawValue) API"
            case let .wait(reason): problem = reason
            case let .fail(message): throw Fatal(message)
            }
            if let found {
                do {
                    let config = try NetworkConfig.decode(found.text)
                    if lastProblem != nil { logger.info("network config found at \(layout.configKey)") }
                    switch (api, found.api) {
                    case (.auto, .v2):
                        logger.notice("using etcd's v2 API: \(layout.configKey) exists only in the v2 store (--etcd-api=auto; the v3 store has none)")
                    case (.auto, _): logger.info("using etcd's v3 API (--etcd-api=auto: the config is in the v3 store)")
                    default: logger.info("using etcd's \(found.api.rawValue) API (--etcd-api=\(api.rawValue))")
                    }
                    await registries.close(except: found.api)
                    return (config, found.registry)
                } catch {
                    problem = "\(error) (at \(layout.configKey), etcd \(found.api.rawValue) API); waiting for a valid config"
                }
            }
            if problem != lastProblem {
                logger.warning("\(problem)")
                lastProblem = problem
            }
            try await pause(backoff.failed())
        }
    }

    /// The config text (nil: the key does not exist), or the etcd error that prevented reading it.
    private static func readConfig(_ registry: any Registry) async -> Result<String?, EtcdError> {
        do {
            return .success(try await registry.networkConfig())
        } catch let error as EtcdError {
            return .failure(error)
        } catch {
            return .failure(.unavailable("\(error)"))
        }
    }

    struct Stopped: Error {}

    /// Sleeps in short steps so a stop request is honoured within a quarter second.
    private func pause(_ duration: Duration) async throws {
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline {
            if stopRequested.isRequested { throw Stopped() }
            try await Task.sleep(for: .milliseconds(250))
        }
        if stopRequested.isRequested { throw Stopped() }
    }

    private func retrying<T: Sendable>(_ what: String, _ body: () async throws -> T) async throws -> T {
        var backoff = Backoff.etcdRead
        while true {
            do {
                return try await body()
            } catch let error as EtcdError where error.isTransient {
                let delay = backoff.failed()
                logger.warning("\(what) failed: \(error); retrying in \(delay)")
                try await pause(delay)
            }
        }
    }
}

extension EtcdError {
    /// etcd refused our credentials or our access: an operator must act.
    var isRefusal: Bool {
        switch self {
        case .permissionDenied, .authenticationFailed, .v2AccessRefused: true
        default: false
        }
    }

    /// Worth retrying: etcd may come back; the others need an operator.
    var isTransient: Bool {
        switch self {
        case .unavailable, .compacted, .leaseNotFound: true
        default: false
        }
    }
}

/// Set by the signal handler, read by loops that sleep.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func request() { flag.store(true, ordering: .relaxed) }
    var isRequested: Bool { flag.load(ordering: .relaxed) }
}
