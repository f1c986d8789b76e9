import AgentCore

/// flanneld on a simulated host: the real `LeaseMachine`, `PeerTable` and packet code, wired
/// the way `FlanneldDaemon` and `LeaseDriver` wire them, with etcd calls and timers going
/// through the world (latency, faults, virtual time) instead of the network and the clock.
public final class SimAgent {
    public let host: SimHost
    unowned let world: SimWorld
    let generation: Int
    public private(set) var machine: LeaseMachine?
    /// The peer table as last brought up to date; empty while `following`.
    private var storedTable: PeerTable
    /// The world delivers our watch lazily: every batch since we started following was one
    /// that concerned only peers, so our table is the world's reference table with our own
    /// key. Anything that reads or changes the table first catches up (see `table`).
    var following = false
    /// The revision our table had when we started following.
    private var followedSince: Int64 = 0
    public private(set) var held: HeldLease?

    /// The peer table, with every batch the watch delivered applied.
    public var table: PeerTable {
        stopFollowing()
        return storedTable
    }

    /// What the udp proxy forwards with: the real one swaps in `PeerRoutes(table.peers)` on
    /// every peer change; here it is built when next needed (large runs change peers often
    /// and forward rarely).
    public var routes: PeerRoutes {
        stopFollowing()
        if let cachedRoutes { return cachedRoutes }
        let built = PeerRoutes(table.peers)
        cachedRoutes = built
        return built
    }
    private var cachedRoutes: PeerRoutes? = PeerRoutes()
    public private(set) var exitReason: String?
    public private(set) var renewals = 0
    private var network: IPv4Network?
    private var subnetLength = 24
    /// The configured backend: udp (flannel0 and the proxy) or a kernel backend.
    public private(set) var backend: BackendConfig = .udp(port: BackendConfig.defaultUDPPort)
    /// The MAC in our lease (vxlan), kept when the device has to be re-created.
    private var vtepMAC: MACAddress?
    private var timerToken = 0
    private var watchBackoff = Backoff.leaseWatch
    private var listingBackoff = Backoff.etcdRead
    private var configBackoff = Backoff.networkConfig
    private var waitingLogged = false

    init(host: SimHost, world: SimWorld) {
        self.host = host
        self.world = world
        generation = host.generation
        storedTable = PeerTable(ownPublicIP: host.publicIP)
    }

    var isCurrent: Bool { host.agent === self && host.generation == generation }

    // MARK: Lazy delivery (SimWorld.startFollowing)

    private func stopFollowing() {
        if following { world.stopFollowing(self) }
    }

    /// Our own key, if the world may deliver our watch lazily: a udp agent (no kernel to
    /// program per change) whose table is the reference's, with no per-route trace lines to write.
    func keyIfCanFollow(_ reference: PeerTable) -> SubnetKey? {
        guard case .udp = backend, !world.options.tracesDetail, isCurrent,
              storedTable.revision == reference.revision, storedTable.sharesLeases(with: reference) else { return nil }
        return storedTable.ownKey
    }

    /// Starts following: the leases are the reference's, so ours (and routes built from them)
    /// are dropped: a follower left alone for hours must not keep an old copy alive.
    func follow() {
        following = true
        followedSince = storedTable.revision
        storedTable = PeerTable(ownPublicIP: host.publicIP, ownKey: storedTable.ownKey)
        cachedRoutes = nil
    }

    /// Stops following: the batches delivered meanwhile, all peer changes, are taken at once;
    /// as each delivery would have, any of them resets the watch backoff.
    func caughtUp(to reference: PeerTable) {
        following = false
        storedTable.catchUp(to: reference)
        cachedRoutes = nil
        if reference.revision > followedSince { watchBackoff.succeeded() }
    }

    func start() {
        world.record("\(host.name) agent started (subnet.env: \(host.subnetFile.map { "\($0.subnet)" } ?? "none"))")
        fetchConfig()
    }

    // MARK: Config

    private func fetchConfig() {
        let layout = world.layout
        world.etcdCall(host, { etcd in etcd.range(key: layout.configKey).kvs.first?.value }) { [self] result in
            switch result {
            case let .success(text?):
                do {
                    let config = try NetworkConfig.decode(text)
                    guard let plan = config.ipv4 else {
                        return waitForConfig("the config at \(layout.configKey) has no IPv4 Network")
                    }
                    begin(plan, backend: config.backend)
                } catch {
                    waitForConfig("the config at \(layout.configKey) is invalid: \(error)")
                }
            case .success(nil):
                waitForConfig("waiting for the network config at \(layout.configKey)")
            case .failure:
                world.after(configBackoff.failed(), self) { $0.fetchConfig() }
            }
        }
    }

    private func waitForConfig(_ message: String) {
        if !waitingLogged { world.record("\(host.name) \(message)") }
        waitingLogged = true
        world.after(configBackoff.failed(), self) { $0.fetchConfig() }
    }

    private func begin(_ plan: SubnetPlan<IPv4Address>, backend: BackendConfig) {
        network = plan.network
        subnetLength = plan.subnetLength
        self.backend = backend
        // As the daemon: the subnet named by the subnet.env text, whatever its network.
        let previous = host.subnetFileText.flatMap { SubnetFile.previousSubnet(in: $0) }
        var machine = LeaseMachine(configuration: .init(
            plan: plan, attributes: prepareBackend(), ttl: world.options.leaseTTL,
            renewMargin: world.options.renewMargin, previousSubnet: previous))
        let actions = machine.start()
        self.machine = machine
        perform(actions)
    }

    // MARK: Lease machine actions

    private func step(_ event: (inout LeaseMachine, Timestamp) -> [LeaseMachine.Action]) {
        guard isCurrent, var machine else { return }
        let actions = event(&machine, world.now)
        self.machine = machine
        perform(actions)
    }

    private func perform(_ actions: [LeaseMachine.Action]) {
        for action in actions {
            guard isCurrent else { return }
            switch action {
            case .listLeases:
                let world = self.world, publicIP = host.publicIP, broken = world.options.brokenAllocator
                world.etcdCall(host, { etcd in
                    var listing = world.liveListing(revision: etcd.revision)
                    if broken { listing.records.removeAll { $0.attributes.publicIP != publicIP } }
                    return listing
                }) { [self] result in
                    switch result {
                    case let .success(listing): step { machine, now in machine.leasesListed(listing, now: now, using: &world.random) }
                    case .failure: step { machine, now in machine.operationFailed(now: now) }
                    }
                }
            case let .createLease(key, attributes, ttl):
                world.statistics.leaseCreates += 1
                createLease(key, attributes, ttl: ttl) { [self] result in
                    switch result {
                    case let .success(revision): step { machine, now in machine.createCompleted(modRevision: revision, now: now) }
                    case .failure: step { machine, now in machine.operationFailed(now: now) }
                    }
                }
            case let .updateLease(key, attributes, ttl, expected):
                updateLease(key, attributes, ttl: ttl, expected: expected, round: 0) { [self] result in
                    switch result {
                    case let .success(outcome): step { machine, now in machine.updateCompleted(outcome, now: now) }
                    case .failure: step { machine, now in machine.operationFailed(now: now) }
                    }
                }
            case let .deleteLease(key, expected, reason):
                let layout = world.layout
                world.record("\(host.name) deleting its old lease \(key.ipv4): \(reason)")
                world.etcdCall(host, { etcd in etcd.deleteLease(key, expectedModRevision: expected, layout: layout) }) { [self] result in
                    switch result {
                    case .success: step { machine, now in machine.deleteCompleted(now: now) }
                    case .failure: step { machine, now in machine.operationFailed(now: now) }
                    }
                }
            case let .scheduleRenewal(at):
                setTimer(at: at) { machine, now in machine.renewalDue(now: now) }
            case let .scheduleRetry(after):
                setTimer(at: world.now + after) { machine, now in machine.retryDue(now: now) }
            case let .leaseAcquired(lease):
                acquired(lease)
            case let .leaseRenewed(lease):
                held = lease
                renewals += 1
            case let .leaseLost(key, holder):
                world.record("\(host.name) lost its lease \(key.ipv4)\(holder.map { " (now held by \($0))" } ?? "")")
            case let .subnetDrifted(from, to):
                world.record("\(host.name) SUBNET DRIFT \(from) -> \(to)")
                world.drifts.append(SimWorld.Drift(host: host.index, from: from, to: to, at: world.now))
            case let .failed(error):
                world.record("\(host.name) agent exits: \(error)")
                exitReason = "\(error)"
                world.agentExited(host)
            }
        }
    }

    /// One timer at a time, as LeaseDriver: a newer one makes the older moot.
    private func setTimer(at time: Timestamp, _ event: @escaping (inout LeaseMachine, Timestamp) -> [LeaseMachine.Action]) {
        timerToken += 1
        let token = timerToken
        world.at(time, self) { agent in
            guard agent.timerToken == token else { return }
            agent.step(event)
        }
    }

    // MARK: Registry calls, step by step as EtcdRegistry makes them

    /// Grant, then the create-if-absent transaction, then (lost race) revoke: each its own
    /// request, each of which can time out or lose its answer on its own.
    private func createLease(_ key: SubnetKey, _ attributes: LeaseAttributes, ttl: Duration,
                             completion: @escaping (Result<Int64?, any Error>) -> Void) {
        let layout = world.layout, broken = world.options.brokenAllocator
        world.etcdCall(host, { etcd in try etcd.grantLease(ttl: LeaseOperations.ttlSeconds(ttl)) }) { [self] granted in
            let lease: Int64
            switch granted {
            case let .success(value): lease = value
            case let .failure(error): return completion(.failure(error))
            }
            if broken {
                return world.etcdCall(host, { etcd in Optional(try etcd.put(key: layout.leaseKey(key), value: attributes.encoded, lease: lease)) },
                                      completion: completion)
            }
            let request = LeaseOperations.createRequest(key, attributes: attributes, lease: lease, layout: layout)
            world.etcdCall(host, { etcd in try etcd.txn(compare: request.compare, success: request.success, failure: request.failure) }) { [self] answer in
                switch answer {
                case let .failure(error):
                    // The transaction may have committed: the grant is left to expire, as upstream.
                    completion(.failure(error))
                case let .success(result):
                    if let revision = LeaseOperations.interpretCreate(result, lease: lease) { return completion(.success(revision)) }
                    world.etcdCall(host, { etcd in try etcd.revokeLease(lease) }) { _ in completion(.success(nil)) }
                }
            }
        }
    }

    /// (Grant,) the rewrite-only-what-we-wrote transaction, (revoke on failure); a second
    /// round when the key holds our own value at another revision.
    private func updateLease(_ key: SubnetKey, _ attributes: LeaseAttributes, ttl: Duration?, expected: Int64, round: Int,
                             completion: @escaping (Result<LeaseUpdateOutcome, any Error>) -> Void) {
        let layout = world.layout
        let transact = { [self] (lease: Int64) in
            let request = LeaseOperations.updateRequest(key, attributes: attributes, lease: lease, expectedModRevision: expected, layout: layout)
            world.etcdCall(host, { etcd in try etcd.txn(compare: request.compare, success: request.success, failure: request.failure) }) { [self] answer in
                let result: TxnResult
                switch answer {
                case let .success(value): result = value
                case let .failure(error): return completion(.failure(error))
                }
                let outcome = LeaseOperations.interpretUpdate(result, attributes: attributes, lease: lease, layout: layout)
                let finish = { [self] in
                    switch outcome {
                    case let .finished(done): completion(.success(done))
                    case let .retry(revision):
                        if round == 0 {
                            updateLease(key, attributes, ttl: ttl, expected: revision, round: 1, completion: completion)
                        } else {
                            completion(.failure(RegistryContention(key: layout.leaseKey(key))))
                        }
                    }
                }
                if case .finished(.updated) = outcome { return finish() }
                guard lease != 0 else { return finish() }
                world.etcdCall(host, { etcd in try etcd.revokeLease(lease) }) { _ in finish() }
            }
        }
        guard let ttl else { return transact(0) }
        world.etcdCall(host, { etcd in try etcd.grantLease(ttl: LeaseOperations.ttlSeconds(ttl)) }) { granted in
            switch granted {
            case let .success(lease): transact(lease)
            case let .failure(error): completion(.failure(error))
            }
        }
    }

    private func acquired(_ lease: HeldLease) {
        let first = held == nil
        let moved = held?.key != lease.key
        held = lease
        guard moved, let network else { return }
        let subnet = lease.key.ipv4
        let mtu = self.mtu
        host.subnetFile = SubnetFile(network: network, subnet: subnet, mtu: mtu, ipMasq: false)
        switch backend {
        case .udp:
            host.tunnel = SimHost.Tunnel(address: subnet.address, mtu: mtu, network: network)
            world.record("\(host.name) lease \(subnet) acquired (flannel0 \(subnet.address)/32 mtu \(mtu); subnet.env written)")
        case .vxlan:
            host.vxlan?.address = subnet.address
            world.record("\(host.name) lease \(subnet) acquired (\(host.vxlan.map { $0.device.name } ?? "?") \(subnet.address)/32 mtu \(mtu); subnet.env written)")
        case .hostGW:
            world.record("\(host.name) lease \(subnet) acquired (host-gw, mtu \(mtu); subnet.env written)")
        }
        world.leaseAcquired(by: host)
        stopFollowing()
        apply(storedTable.setOwnKey(lease.key))
        if first {
            syncPeers()
            if kernelPlanner != nil { world.after(Self.resyncInterval, self) { $0.resync() } }
        }
    }

    // MARK: Peers

    /// List, then watch from the listing's revision, as FlanneldDaemon does. The first listing
    /// retries as the daemon's (`Backoff.etcdRead`); a re-listing after compaction as its watcher.
    private func syncPeers(afterCompaction: Bool = false) {
        let world = self.world
        world.etcdCall(host, { etcd in world.liveListing(revision: etcd.revision) }) { [self] result in
            switch result {
            case let .success(listing):
                stopFollowing()
                apply(storedTable.applySnapshot(listing, sharing: world.peerSharing))
                // Whatever the listing said: stale entries from an earlier run go now.
                programKernel()
                listingBackoff.succeeded()
                watchBackoff.succeeded()
                world.openWatch(self, after: table.revision)
            case .failure:
                let delay = afterCompaction ? watchBackoff.failed() : listingBackoff.failed()
                world.after(delay, self) { $0.syncPeers(afterCompaction: afterCompaction) }
            }
        }
    }

    func watchDelivered(_ batch: LeaseEventBatch, sharing: PeerTable.Sharing) {
        guard isCurrent else { return }
        stopFollowing()
        watchBackoff.succeeded()
        apply(storedTable.apply(batch, sharing: sharing))
    }

    /// The watch broke (etcd gone, partition): resume after the last revision we saw.
    func watchBroken() {
        guard isCurrent else { return }
        world.after(watchBackoff.failed(), self) { agent in agent.world.openWatch(agent, after: agent.table.revision) }
    }

    /// The revision we would resume from was compacted: re-list and diff.
    func watchCompacted() {
        guard isCurrent else { return }
        world.record("\(host.name) watch revision \(table.revision + 1) compacted; re-listing")
        syncPeers(afterCompaction: true)
    }

    private func apply(_ changes: [PeerTable.Change]) {
        var routesChanged = false
        let detail = world.options.tracesDetail
        for change in changes {
            if !detail {
                // Large runs: no trace line per route, so no need to look inside the change.
                switch change {
                case .added, .changed, .removed:
                    routesChanged = true
                    continue
                default:
                    break
                }
            }
            switch change {
            case let .added(peer):
                if world.options.tracesDetail { world.record("\(host.name) route \(peer.subnet) via \(peer.publicIP) added") }
                routesChanged = true
            case let .changed(from, to):
                if world.options.tracesDetail { world.record("\(host.name) route \(to.subnet) via \(to.publicIP) (was via \(from.publicIP))") }
                routesChanged = true
            case let .removed(peer):
                if world.options.tracesDetail { world.record("\(host.name) route \(peer.subnet) via \(peer.publicIP) removed") }
                routesChanged = true
            case let .malformed(problem):
                world.record("\(host.name) skipping malformed lease: \(problem)")
            case let .ownLeaseRemoved(_, revision):
                if let held, revision > held.modRevision { step { machine, now in machine.ownLeaseRemoved(now: now) } }
            case let .ownLeaseOverwritten(_, holder, revision):
                if let held, revision > held.modRevision { step { machine, now in machine.ownLeaseOverwritten(by: holder, now: now) } }
            }
        }
        if routesChanged {
            cachedRoutes = nil
            programKernel()
        }
    }

    // MARK: Backends

    /// subnet.env's MTU per backend (COMPAT.md): udp − 28, vxlan − 50 (or the configured MTU), host-gw as is.
    var mtu: Int {
        switch backend {
        case .udp: host.underlayMTU - 28
        case let .vxlan(_, _, _, configured): configured == 0 ? host.underlayMTU - 50 : configured
        case .hostGW: host.underlayMTU
        }
    }

    /// Before the lease, as BackendSetup: vxlan makes (or reuses) its device, whose MAC goes
    /// into the lease. Returns our lease's attributes.
    private func prepareBackend() -> LeaseAttributes {
        switch backend {
        case .udp:
            return LeaseAttributes(publicIP: host.publicIP)
        case .hostGW:
            return LeaseAttributes(publicIP: host.publicIP, backendType: "host-gw")
        case let .vxlan(vni, port, _, _):
            ensureDevice(vni: vni, port: port)
            return LeaseAttributes(publicIP: host.publicIP, backendType: "vxlan", backendData: .object([
                ("VNI", .number("\(vni)")), ("VtepMAC", .string(host.vxlan!.mac.description)),
            ]))
        }
    }

    /// As KernelBackend.ensureDevice: reuse a matching device with its MAC, else create one
    /// (keeping the MAC this agent already put in its lease, or the old device's).
    private func ensureDevice(vni: Int, port: Int) {
        if let device = host.vxlan, device.vni == vni, device.port == port {
            if vtepMAC == nil { world.record("\(host.name) reusing \(device.device.name) \(device.mac)") }
            vtepMAC = device.mac
            return
        }
        let old = host.vxlan
        if let old { host.removeEntries(on: old.device) }
        let mac = vtepMAC ?? old?.mac
            ?? MACAddress.locallyAdministered(from: (0..<6).map { _ in UInt8.random(in: 0...255, using: &world.random) })
        host.vxlan = SimHost.VXLANDevice(device: KernelDevice(index: 3, name: "flannel.\(vni)"), mac: mac, vni: vni, port: port)
        vtepMAC = mac
        world.record("\(host.name) created flannel.\(vni) \(mac)")
    }

    /// The kernel backends' planner, as KernelBackend builds it; nil for udp.
    public var kernelPlanner: KernelBackendPlanner? {
        guard let network else { return nil }
        let kind: KernelBackendPlanner.Kind
        switch backend {
        case .udp: return nil
        case .hostGW: kind = .hostGW
        case let .vxlan(_, _, directRouting, _):
            guard let device = host.vxlan?.device else { return nil }
            kind = .vxlan(device: device, directRouting: directRouting)
        }
        return KernelBackendPlanner(kind: kind, external: host.eth0, externalNetwork: host.underlayNetwork, network: network,
                                    subnetLength: subnetLength, ownSubnet: held?.key.ipv4)
    }

    /// The kernel backends' resync, every 10 s as on a real host: anything missing comes back.
    static let resyncInterval = Duration.seconds(10)

    private func resync() {
        guard isCurrent else { return }
        if case let .vxlan(vni, port, _, _) = backend, host.vxlan == nil {
            world.record("\(host.name) flannel.\(vni) is gone; re-creating it")
            ensureDevice(vni: vni, port: port)
            host.vxlan?.address = held?.key.ipv4.address
        }
        programKernel()
        world.after(Self.resyncInterval, self) { $0.resync() }
    }

    /// The same diff the real agent applies through netlink, applied to the simulated tables.
    private func programKernel() {
        guard let planner = kernelPlanner else { return }
        let plan = planner.plan(peers: table.peers, current: host.kernelTables)
        let broken = world.options.brokenKernelDeletes
        let outcome = plan.execute { step in host.apply(step, ignoringDeletes: broken) }
        if world.options.tracesDetail {
            for step in outcome.applied { world.record("\(host.name) \(step)") }
        }
    }
}
