import AgentCore

/// flanneld on a simulated host: the daemon's own `AgentMachine`, its actions carried out with
/// simulated effects (etcd calls through the world with latency and faults, timers in virtual
/// time, flannel0/vxlan/routes in the host's tables). Like the daemon's `AgentRunner`, it holds
/// no agent policy: what to do, when to retry and what to say is the machine's.
public final class SimAgent {
    public let host: SimHost
    unowned let world: SimWorld
    let generation: Int
    public private(set) var machine: AgentMachine
    /// The world delivers our watch lazily (see `SimWorld.startFollowing`): anything that
    /// reads or changes the machine's table first catches up.
    var following = false
    public private(set) var exitReason: String?
    public private(set) var renewals = 0
    /// The MAC in our lease (vxlan), kept when the device has to be re-created.
    private var vtepMAC: MACAddress?
    /// The same for `flannel-v6.<VNI>` (dual-stack vxlan).
    private var ipv6VtepMAC: MACAddress?
    private var timerTokens: [AgentMachine.Timer: Int] = [:]
    /// The lease the world was last told about (`SimWorld.leaseAcquired`).
    private var announcedKey: SubnetKey?

    init(host: SimHost, world: SimWorld) {
        self.host = host
        self.world = world
        generation = host.generation
        let previous = host.subnetFileText.flatMap { SubnetFile.previousSubnet(in: $0) }
        var configuration = AgentMachine.Configuration(
            etcdAPI: world.options.etcdAPI, layout: world.layout, host: host.backendHost, leaseTTL: host.agentLeaseTTL ?? world.options.leaseTTL,
            leaseTTLText: LeaseTTLText.text(for: host.agentLeaseTTL ?? world.options.leaseTTL), renewMargin: world.options.renewMargin, previousSubnet: previous,
            ipMasq: false, forwardRules: false,
            previousIPv6Subnet: host.subnetFileText.flatMap { SubnetFile.previousIPv6Subnet(in: $0) })
        configuration.reportsPeerChanges = world.options.tracesDetail
        configuration.spreadsTimers = world.options.spreadsTimers
        machine = AgentMachine(configuration: configuration)
    }

    var isCurrent: Bool { host.agent === self && host.generation == generation }

    /// The lease the agent holds (also while renewing it).
    public var held: HeldLease? { machine.held }

    /// The peer table, with every batch the watch delivered applied.
    public var table: PeerTable {
        stopFollowing()
        return machine.table ?? PeerTable(ownPublicIP: host.publicIP)
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

    /// The configured backend (udp until the config is read).
    public private(set) var backend = BackendConfig(UDPBackend()) {
        didSet { forwardsInUserSpace = if case .userSpaceUDP = backend.backend.forwarding { true } else { false } }
    }

    /// Whether the agent forwards in user space (udp): no kernel entries per peer. Kept, not
    /// asked of the backend each time: large runs ask on every watch delivery and timer.
    private(set) var forwardsInUserSpace = true

    func start() {
        world.record("\(host.name) agent started (subnet.env: \(host.subnetFile?.subnet.map { "\($0)" } ?? "none"))")
        handle(.start)
    }

    // MARK: Lazy delivery (SimWorld.startFollowing)

    private func stopFollowing() {
        if following { world.stopFollowing(self) }
    }

    /// Our own key, if the world may deliver our watch lazily: a udp agent (no kernel to
    /// program per change) whose table is the reference's, with no per-route trace lines to write.
    func keyIfCanFollow(_ reference: PeerTable) -> SubnetKey? {
        guard forwardsInUserSpace, !world.options.tracesDetail, isCurrent, machine.phase == .running,
              let current = machine.table, current.revision == reference.revision, current.sharesLeases(with: reference) else { return nil }
        return current.ownKey
    }

    func follow() {
        following = true
        machine.follow()
        cachedRoutes = nil
    }

    func caughtUp(to reference: PeerTable) {
        following = false
        machine.catchUp(to: reference)
        cachedRoutes = nil
    }

    // MARK: Events from the world

    func watchDelivered(_ batch: LeaseEventBatch) {
        handle(.watchDelivered(batch))
    }

    /// The watch broke (etcd gone, partition).
    func watchBroken() {
        handle(.watchBroken(.unavailable("the watch broke (simulated)")))
    }

    /// The revision the watch would resume from was compacted.
    func watchCompacted(at revision: Int64) {
        handle(.watchBroken(.compacted(compactRevision: revision)))
    }

    /// Hands `event` to the machine and carries out its actions, and the answers that come
    /// at once (simulated effects without latency), in order.
    private func handle(_ first: AgentMachine.Event) {
        guard isCurrent else { return }
        var events = [first]
        while !events.isEmpty, isCurrent {
            let event = events.removeFirst()
            // Anything may touch the table (only udp agents follow, and they have no tick).
            stopFollowing()
            let actions = machine.handle(event, now: world.now, random: &world.random, sharing: world.peerSharing)
            for action in actions {
                guard isCurrent else { return }
                events += perform(action)
            }
        }
    }

    // MARK: Actions

    private func perform(_ action: AgentMachine.Action) -> [AgentMachine.Event] {
        switch action {
        case let .log(level, text):
            log(level, text)
        case let .observe(observation):
            observe(observation)
        case .setReadiness, .notifyReady, .useRegistry, .removeOtherTrafficRules, .stopDataPath:
            break
        case let .setTimer(timer, at):
            setTimer(timer, at: at)
        case let .readConfig(api):
            readConfig(api)
        case let .lease(call):
            perform(call)
        case .listPeers:
            let world = self.world
            world.etcdCall(host, { etcd in world.liveListing(revision: etcd.revision) }) { [self] result in
                switch result {
                case let .success(listing): handle(.peersListed(listing))
                case let .failure(error): handle(.peersListFailed(Self.etcdError(error)))
                }
            }
        case let .watchPeers(revision):
            world.openWatch(self, after: revision)
        case let .prepareBackend(config, device, ipv6Device, _, _):
            backend = config
            if let device { ensure(device) }
            if let ipv6Device { ensure(ipv6Device) }
            return [.backendPrepared(device: identity(of: device), ipv6Device: ipv6Device == nil ? nil : host.ipv6VXLAN.map { .mac($0.mac) })]
        case let .startDataPath(subnets), let .moveDataPath(subnets):
            if let subnet = subnets.subnet, let network = subnets.network { bringUpDevice(subnet: subnet, network: network) }
            if let subnet = subnets.ipv6Subnet, host.ipv6VXLAN != nil {
                host.ipv6VXLAN?.ipv6Address = subnet.address
                world.record("\(host.name) IPv6 lease \(subnet) in use (flannel-v6 \(subnet.address)/128)")
            }
            if case .startDataPath = action { return [.dataPathStarted] }
        case .programPeers:
            cachedRoutes = nil
            programKernel()
        case let .peer(news):
            tracePeer(news)
        case .tickDataPath:
            resync()
        case .keepTrafficRules:
            // The simulated hosts have no firewall: the rules are always in place.
            return [.trafficRulesKept(restored: 0, summary: "simulated")]
        case let .writeSubnetFile(file):
            host.subnetFile = file
        case let .exit(exit):
            if case let .failed(message) = exit {
                world.record("\(host.name) agent exits: \(message)")
                exitReason = message
            }
            world.agentExited(host)
        }
        return []
    }

    /// What the daemon logs goes to the trace in the daemon's words: notices and above always,
    /// routine lines in detailed runs (the bench's thousands of agents would flood it).
    private func log(_ level: AgentMachine.LogLevel, _ text: String) {
        if level >= .notice || world.options.tracesDetail && level >= .info {
            world.record("\(host.name) \(text)")
        }
    }

    private func observe(_ observation: AgentMachine.Observation) {
        switch observation {
        case let .leaseAcquired(lease):
            guard lease.key != announcedKey else { return }
            announcedKey = lease.key
            world.leaseAcquired(by: host)
        case .leaseRenewed:
            renewals += 1
        case let .drifted(from, to):
            world.record("\(host.name) SUBNET DRIFT \(from) -> \(to)")
            world.drifts.append(SimWorld.Drift(host: host.index, from: from, to: to, at: world.now))
        case let .ipv6Drifted(from, to):
            world.record("\(host.name) IPv6 SUBNET DRIFT \(from) -> \(to)")
        case let .leasesIgnored(_, count):
            world.statistics.leaseEntriesIgnored += count
        case .leaseLost, .watchInterrupted, .watchRelisted, .peerCount:
            break
        }
    }

    /// One timer per purpose, as the daemon's: a newer one makes the older moot.
    private func setTimer(_ timer: AgentMachine.Timer, at time: Timestamp) {
        // A udp agent's tick only logs its drop counts, which the world keeps anyway: skipping
        // the event changes nothing observable and spares a large run millions of events.
        if timer == .dataPathTick, forwardsInUserSpace { return }
        let token = timerTokens[timer, default: 0] + 1
        timerTokens[timer] = token
        world.at(time, self) { agent in
            guard agent.timerTokens[timer] == token else { return }
            agent.handle(.timerFired(timer))
        }
    }

    private static func etcdError(_ error: any Error) -> EtcdError {
        error as? EtcdError ?? .unavailable("\(error)")
    }

    // MARK: etcd

    /// The simulated etcd has only the v3 store: `--etcd-api=auto` finds v2 switched off.
    private func readConfig(_ api: EtcdAPI) {
        let layout = world.layout
        world.etcdCall(host, { etcd in etcd.range(key: layout.configKey).kvs.first?.value }) { [self] result in
            switch (api, result) {
            case (.v2, .success):
                handle(.configRead(.v2, .failure(.badResponse(endpoint: "etcd (simulated)", reason: EtcdError.v2Off))))
            case let (_, .success(text)):
                handle(.configRead(api, .success(text)))
            case let (_, .failure(error)):
                handle(.configRead(api, .failure(Self.etcdError(error))))
            }
        }
    }

    private func perform(_ call: AgentMachine.LeaseCall) {
        switch call {
        case .list:
            let world = self.world, publicIP = host.publicIP, broken = world.options.brokenAllocator
            world.etcdCall(host, { etcd in
                var listing = world.liveListing(revision: etcd.revision)
                if broken { listing.records.removeAll { $0.attributes.publicIP != publicIP } }
                return listing
            }) { [self] result in
                switch result {
                case let .success(listing): handle(.leasesListed(listing))
                case let .failure(error): handle(.leaseCallFailed("\(error)"))
                }
            }
        case let .create(key, attributes, ttl):
            world.statistics.leaseCreates += 1
            SimLeaseCalls(world: world, host: host).create(key, attributes, ttl: ttl) { [self] result in
                switch result {
                case let .success(revision): handle(.leaseCreated(modRevision: revision))
                case let .failure(error): handle(.leaseCallFailed("\(error)"))
                }
            }
        case let .update(key, attributes, ttl, expected):
            SimLeaseCalls(world: world, host: host).update(key, attributes, ttl: ttl, expected: expected, round: 0) { [self] result in
                switch result {
                case let .success(outcome): handle(.leaseUpdated(outcome))
                case let .failure(error): handle(.leaseCallFailed("\(error)"))
                }
            }
        case let .delete(key, expected):
            let layout = world.layout
            world.etcdCall(host, { etcd in etcd.deleteLease(key, expectedModRevision: expected, layout: layout) }) { [self] result in
                switch result {
                case .success: handle(.leaseDeleted)
                case let .failure(error): handle(.leaseCallFailed("\(error)"))
                }
            }
        }
    }

    // MARK: Backends

    /// subnet.env's MTU, as the backend computes it for this host.
    var mtu: Int { backend.backend.mtu(on: host.backendHost) }

    /// Makes (or reuses) the device the backend asked for before the lease, as the daemon's
    /// Linux backend: a matching device is kept with its MAC; otherwise one is made, keeping
    /// the MAC this agent already put in its lease, or the old device's.
    private func ensure(_ device: BackendDevice) {
        switch device {
        case let .vxlan(vni, port, _):
            ensureVXLAN(device.name, vni: vni, port: port, index: 3, slot: \.vxlan, mac: \.vtepMAC)
        case let .vxlanIPv6(vni, port, _):
            ensureVXLAN(device.name, vni: vni, port: port, index: 4, slot: \.ipv6VXLAN, mac: \.ipv6VtepMAC)
        case let .wireguard(name, port, mtu):
            // The IPv6 half (flannel-wg-v6) is not modelled: a dual-stack wireguard network
            // runs its IPv4 half here, and the lab runs both.
            guard name == WireGuardBackend.deviceName else { return world.record("\(host.name) \(name): not modelled by the simulator") }
            ensureWireGuard(name, port: port, mtu: mtu)
        }
    }

    /// What the lease says of the device the backend asked for: vxlan's MAC, wireguard's key.
    private func identity(of device: BackendDevice?) -> BackendDeviceIdentity? {
        switch device {
        case .vxlan?: host.vxlan.map { .mac($0.mac) }
        case .wireguard?: host.wireguard.map { .publicKey($0.publicKey) }
        case .vxlanIPv6?, nil: nil
        }
    }

    /// One vxlan device (`flannel.<VNI>` or `flannel-v6.<VNI>`) in `slot` of the host, its MAC
    /// remembered in `mac`.
    private func ensureVXLAN(_ name: String, vni: Int, port: Int, index: Int,
                             slot: ReferenceWritableKeyPath<SimHost, SimHost.VXLANDevice?>,
                             mac macSlot: ReferenceWritableKeyPath<SimAgent, MACAddress?>) {
        if let existing = host[keyPath: slot], existing.vni == vni, existing.port == port {
            if self[keyPath: macSlot] == nil { world.record("\(host.name) reusing \(existing.device.name) \(existing.mac)") }
            self[keyPath: macSlot] = existing.mac
            return
        }
        let old = host[keyPath: slot]
        if let old { host.removeEntries(on: old.device) }
        let mac = self[keyPath: macSlot] ?? old?.mac
            ?? MACAddress.locallyAdministered(from: (0..<6).map { _ in UInt8.random(in: 0...255, using: &world.random) })
        host[keyPath: slot] = SimHost.VXLANDevice(device: KernelDevice(index: index, name: name), mac: mac, vni: vni, port: port)
        self[keyPath: macSlot] = mac
        world.record("\(host.name) created \(name) \(mac)")
    }

    /// flannel0 (user-space forwarding) or the backend's device gets the subnet's address.
    private func bringUpDevice(subnet: IPv4Network, network: IPv4Network) {
        let mtu = self.mtu
        if forwardsInUserSpace {
            host.tunnel = SimHost.Tunnel(subnet: subnet, mtu: mtu, network: network)
            world.record("\(host.name) lease \(subnet) in use (flannel0 \(subnet.address)/32 mtu \(mtu))")
        } else if backend.backend.forwarding == .wireguard, host.wireguard != nil {
            host.wireguard?.address = subnet.address
            host.wireguard?.network = network
            world.record("\(host.name) lease \(subnet) in use (flannel-wg \(subnet.address)/32 mtu \(mtu), \(network) routed through it)")
        } else if backend.backend.device(on: host.backendHost) != nil, host.vxlan != nil {
            host.vxlan?.address = subnet.address
            world.record("\(host.name) lease \(subnet) in use (\(host.vxlan.map { $0.device.name } ?? "?") \(subnet.address)/32 mtu \(mtu))")
        } else {
            world.record("\(host.name) lease \(subnet) in use (\(backend.typeName), mtu \(mtu))")
        }
    }

    private func tracePeer(_ news: AgentMachine.PeerNews) {
        guard world.options.tracesDetail else { return }
        switch news {
        case let .added(peer): world.record("\(host.name) route \(peer.key.subnets) via \(peer.publicIP) added")
        case let .changed(from, to): world.record("\(host.name) route \(to.key.subnets) via \(to.publicIP) (was via \(from.publicIP))")
        case let .removed(peer): world.record("\(host.name) route \(peer.key.subnets) via \(peer.publicIP) removed")
        }
    }

    /// The kernel backends' planner, as the daemon's kernel backend builds it; nil for user-space forwarding.
    public var kernelPlanner: KernelBackendPlanner<IPv4Address>? {
        planner(plan: machine.plan, wantsDevice: backend.backend.device(on: host.backendHost) != nil,
                device: host.vxlan, underlay: host.underlayNetwork, ownSubnet: held?.key.ipv4)
    }

    /// The kernel backends' planner for the IPv6 half of a dual-stack network, as the daemon's builds it.
    public var ipv6KernelPlanner: KernelBackendPlanner<IPv6Address>? {
        planner(plan: machine.config?.ipv6, wantsDevice: backend.backend.ipv6Device(on: host.backendHost) != nil,
                device: host.ipv6VXLAN, underlay: host.ipv6UnderlayNetwork, ownSubnet: held?.key.ipv6)
    }

    /// One family's planner: none without that family's plan, for user-space forwarding, or
    /// while the device the backend wants is missing.
    private func planner<Address>(plan: SubnetPlan<Address>?, wantsDevice: Bool, device: SimHost.VXLANDevice?,
                                  underlay: IPNetwork<Address>, ownSubnet: IPNetwork<Address>?) -> KernelBackendPlanner<Address>? {
        guard let plan, backend.backend.forwarding == .kernel, !wantsDevice || device != nil else { return nil }
        let context = KernelPeerContext(external: host.eth0, externalNetwork: underlay, device: wantsDevice ? device?.device : nil)
        return KernelBackendPlanner(backend: backend, context: context, network: plan.network,
                                    subnetLength: plan.subnetLength, ownSubnet: ownSubnet)
    }

    /// The data path's periodic tick: the kernel backends' resync, anything missing comes back.
    private func resync() {
        if forwardsInUserSpace { return }
        if let wireguard = backend.backend as? WireGuardBackend, let device = wireguard.device(on: host.backendHost) {
            if host.wireguard == nil {
                world.record("\(host.name) \(device.name) is gone; making it again with the same key")
                ensure(device)
                host.wireguard?.address = held?.key.ipv4?.address
                host.wireguard?.network = machine.plan?.network
            }
            return programKernel()
        }
        if let device = backend.backend.device(on: host.backendHost), host.vxlan == nil {
            world.record("\(host.name) \(device.name) is gone; re-creating it")
            ensure(device)
            host.vxlan?.address = held?.key.ipv4?.address
        }
        if machine.config?.ipv6 != nil, let device = backend.backend.ipv6Device(on: host.backendHost), host.ipv6VXLAN == nil {
            world.record("\(host.name) \(device.name) is gone; re-creating it")
            ensure(device)
            host.ipv6VXLAN?.ipv6Address = held?.key.ipv6?.address
        }
        programKernel()
    }

    /// The same diff the real agent applies through netlink, applied to the simulated tables.
    private func programKernel() {
        if programWireGuard() { return }
        guard let planner = kernelPlanner, let peers = machine.table?.peers else { return }
        let broken = world.options.brokenKernelDeletes
        trace(planner.plan(peers: peers, current: host.kernelTables).execute { step in host.apply(step, ignoringDeletes: broken) })
        guard let ipv6Planner = ipv6KernelPlanner else { return }
        trace(ipv6Planner.plan(peers: peers, current: host.ipv6KernelTables).execute { step in host.apply(step, ignoringDeletes: broken) })
    }

    private func trace<Address>(_ outcome: KernelPlan<Address>.Outcome) {
        guard world.options.tracesDetail else { return }
        for step in outcome.applied { world.record("\(host.name) \(step)") }
    }
}
