import AgentCore

/// One simulated cluster: virtual clock, one seeded generator for every random choice, the
/// in-memory etcd, hosts on an underlay switch, faults, and the trace. Everything happens on
/// one thread as events of the scheduler; the same seed gives the same run, event by event.
public final class SimWorld {
    public struct Drift: Sendable, Equatable {
        public var host: Int
        public var from: IPv4Network
        public var to: IPv4Network
        public var at: Timestamp
    }

    public struct Statistics: Sendable {
        public var etcdRequests = 0
        public var etcdRequestsFailed = 0
        public var datagramsSent = 0
        public var datagramsLost = 0
        public var leaseCreates = 0
        /// Times an agent started following the reference table (lazy delivery).
        public var followsStarted = 0
        /// Lease entries the agents skipped (bad keys and values, keys outside the plan).
        public var leaseEntriesIgnored = 0
        public var drops: [String: Int] = [:]
    }

    public let options: SimOptions
    public let seed: UInt64
    public let scheduler = SimScheduler()
    public var random: SeededGenerator
    public internal(set) var etcd = InMemoryEtcd()
    /// etcd's members, their leader, and which member each host's client uses.
    var etcdCluster: SimEtcdCluster
    public let layout = EtcdKeyLayout()
    public private(set) var hosts: [SimHost] = []
    /// Agents fed the same history hold one copy of the leases (memory ∝ hosts, not hosts²).
    let peerSharing = PeerTable.Sharing()
    public internal(set) var faults = SimFaults() {
        didSet { faultsChanged(from: oldValue) }
    }
    public internal(set) var trace: SimTrace
    public internal(set) var drifts: [Drift] = []
    public internal(set) var statistics = Statistics()
    /// Broken invariants seen so far (checked continuously and at settle points).
    public internal(set) var violations: [String] = []

    // etcd's own time stands still while it is down; on restart every lease gets its full TTL
    // again (etcd's lessor promote).
    private var etcdDowntime: Duration = .zero
    private var etcdDownSince: Timestamp?
    private var expiryCheckAt: Timestamp?

    /// Per watching host, the next revision it needs (stale for followers); `watchers` holds
    /// the indices, sorted, of those that get each batch as it arrives.
    var watches: [Int: Int64] = [:]
    var watchers: [Int] = []
    /// Every batch delivered so far, applied to a table of no host: what a follower's table is.
    var reference = PeerTable(ownPublicIP: IPv4Address(bits: 0))
    /// Watching agents delivered lazily, by host index, and by their own key.
    var followers: [Int: (agent: SimAgent, key: SubnetKey)] = [:]
    var followersByKey: [SubnetKey: [Int]] = [:]
    var distributedRevision: Int64 = 0
    var lastDelivery: Timestamp = .zero
    private var liveLeases = SimLiveLeases()
    /// The invariants observer (lease ownership in etcd and in the agents).
    private var ledger = SimLeaseLedger()
    /// The invariants are about leases agents may use: keys the network plan could not hand
    /// out (a hostile writer's /25 or /16) are screened out as the agents screen them.
    private(set) var ledgerScreen: LeaseScreen?
    /// The simulated network's traffic in flight: pings and TCP streams.
    var traffic = SimTraffic()

    public init(seed: UInt64, options: SimOptions = SimOptions()) {
        self.seed = seed
        self.options = options
        random = SeededGenerator(seed: seed)
        trace = SimTrace(keepsLines: options.keepsTrace)
        etcdCluster = SimEtcdCluster(members: options.etcdMembers)
    }

    public var now: Timestamp { scheduler.now }

    public func record(_ text: String) {
        trace.record(now, text)
    }

    // MARK: Building

    /// Host `index` (1, 2, …) at 192.0.2.(10 + index) for the first 240, then onward through
    /// 198.18.0.0/15 for large clusters.
    @discardableResult
    public func addHost() -> SimHost {
        let index = hosts.count + 1
        let address = index <= 240 ? IPv4Address(192, 0, 2, UInt8(10 + index)) : IPv4Address(bits: IPv4Address(198, 18, 0, 0).bits + UInt32(index))
        let host = SimHost(index: index, publicIP: address,
                           underlayNetwork: index <= 240 ? IPv4Network("192.0.2.0/24")! : IPv4Network("198.18.0.0/15")!)
        hosts.append(host)
        return host
    }

    public func host(_ index: Int) -> SimHost { hosts[index - 1] }

    public func writeNetworkConfig(_ text: String) {
        syncEtcdTime()
        _ = try? etcd.put(key: layout.configKey, value: text)
        if let config = try? NetworkConfig.decode(text), let plan = config.ipv4 {
            ledgerScreen = LeaseScreen(ipv4: plan, ipv6: config.ipv6, layout: layout)
        }
        etcdChanged()
    }

    /// Writes `key` (no TTL), as an operator with etcdctl.
    public func putKey(_ key: String, _ value: String) {
        syncEtcdTime()
        _ = try? etcd.put(key: key, value: value)
        record("etcdctl put \(key) \(value)")
        etcdChanged()
    }

    /// Writes many keys as `etcdctl txn` does, 128 puts per transaction (etcd's limit): one
    /// revision, one watch batch and one trace line per transaction.
    public func putKeys(_ entries: [(key: String, value: String)]) {
        for start in stride(from: 0, to: entries.count, by: 128) {
            let chunk = entries[start..<min(start + 128, entries.count)]
            syncEtcdTime()
            _ = try? etcd.txn(compare: [], success: chunk.map { .put(key: $0.key, value: $0.value, lease: 0) }, failure: [])
            let sizes = chunk.map(\.value.utf8.count).reduce(0, +)
            record("etcdctl txn: \(chunk.count) puts from \(chunk.first!.key), \(sizes) bytes of values")
            etcdChanged()
        }
    }

    public func deleteKey(_ key: String) {
        syncEtcdTime()
        _ = etcd.delete(key: key)
        record("etcdctl del \(key)")
        etcdChanged()
    }

    public func startAgent(_ host: SimHost) {
        guard host.agent == nil else { return }
        let agent = SimAgent(host: host, world: self)
        host.agent = agent
        agent.start()
    }

    /// The agent process dies (SIGKILL, a crash, or SIGTERM: udp keeps the lease either way);
    /// flannel0 goes with it, subnet.env and docker0 stay.
    public func stopAgent(_ host: SimHost, reason: String = "stopped") {
        guard host.agent != nil else { return }
        record("\(host.name) agent \(reason)\(host.tunnel != nil ? "; flannel0 removed" : "")")
        host.agent = nil
        host.generation += 1
        host.tunnel = nil
        host.pausedUntil = nil
        host.deferred = []
        if let joiner = traffic.joiners[host.index] {
            if joiner.coalescer.isOpen { drop(host, "proxy: a joined packet died with the agent") }
            joiner.discard()
        }
        setWatch(host.index, next: nil)
    }

    /// `ip link del flannel.<VNI>` on `host`: the device and every entry on it go.
    public func deleteVXLANDevice(on host: SimHost) {
        guard let device = host.vxlan else { return }
        host.removeEntries(on: device.device)
        host.vxlan = nil
        record("\(host.name) \(device.device.name) deleted by hand")
    }

    /// `ip link del flannel-v6.<VNI>` on `host`.
    public func deleteIPv6VXLANDevice(on host: SimHost) {
        guard let device = host.ipv6VXLAN else { return }
        host.removeEntries(on: device.device)
        host.ipv6VXLAN = nil
        record("\(host.name) \(device.device.name) deleted by hand")
    }

    func agentExited(_ host: SimHost) {
        stopAgent(host, reason: "exited")
    }

    /// One more container on `host` (the next free address of its docker0 subnet).
    @discardableResult
    public func addContainer(on host: SimHost) -> SimHost.Container? {
        guard let bridge = host.bridge ?? host.subnetFile?.subnet else { return nil }
        host.bridge = bridge
        let used = Set(host.containers.map(\.address))
        var number = 1
        while used.contains(IPv4Address(bits: bridge.address.bits + UInt32(1 + number))) { number += 1 }
        var container = SimHost.Container(name: "\(host.name)c\(host.containers.count + 1)", address: IPv4Address(bits: bridge.address.bits + UInt32(1 + number)))
        if let ipv6Bridge = host.ipv6Bridge ?? host.subnetFile?.ipv6Subnet {
            host.ipv6Bridge = ipv6Bridge
            container.ipv6 = ipv6Bridge.address.advanced(by: UInt128(1 + number))
        }
        host.containers.append(container)
        record("\(container.name) started with \(container.address)")
        return container
    }

    public func removeContainer(_ container: SimHost.Container, from host: SimHost) {
        host.containers.removeAll { $0 == container }
        record("\(container.name) (\(container.address)) deleted")
    }

    /// Containers behind docker0, addressed from subnet.env as docker does (.2, .3, …).
    /// Called again after a drift it re-creates them in the new subnet (the walkthrough's
    /// "IP drift" of a redeployed container).
    public func deployContainers(on host: SimHost, count: Int = 1) {
        guard let file = host.subnetFile, let subnet = file.subnet else { return }
        let old = host.containers
        host.bridge = file.subnet
        host.ipv6Bridge = file.ipv6Subnet
        host.containers = (1...max(1, count)).map { number in
            SimHost.Container(name: "\(host.name)c\(number)", address: IPv4Address(bits: subnet.address.bits + UInt32(1 + number)),
                              ipv6: file.ipv6Subnet?.address.advanced(by: UInt128(1 + number)))
        }
        for (before, after) in zip(old, host.containers) where before.address != after.address {
            record("\(after.name) redeployed: \(before.address) -> \(after.address)")
        }
    }

    // MARK: Time

    func at(_ time: Timestamp, _ agent: SimAgent, _ body: @escaping (SimAgent) -> Void) {
        scheduler.schedule(at: time) { [weak agent, unowned self] in
            guard let agent, agent.isCurrent else { return }
            runOrDefer(agent.host) { [weak agent] in
                guard let agent, agent.isCurrent else { return }
                body(agent)
            }
        }
    }

    /// Runs `work` for `host`'s agent now, or, while it is paused (or earlier work still
    /// waits), queues it: a paused process handles what piled up in the order it arrived.
    func runOrDefer(_ host: SimHost, _ work: @escaping () -> Void) {
        guard host.isPaused(at: now) || !host.deferred.isEmpty else { return work() }
        host.deferred.append(work)
        if host.deferred.count == 1 { scheduleDrain(host) }
    }

    private func scheduleDrain(_ host: SimHost) {
        let generation = host.generation
        scheduler.schedule(at: host.pausedUntil ?? now) { [unowned self] in
            guard host.generation == generation else { return }
            if host.isPaused(at: now) { return scheduleDrain(host) }  // the pause was extended
            while !host.deferred.isEmpty { host.deferred.removeFirst()() }
        }
    }

    /// Freezes `host`'s agent for `duration` (see `SimHost.pausedUntil`).
    public func pauseAgent(_ host: SimHost, for duration: Duration) {
        guard host.agent != nil else { return }
        if let agent = followers[host.index]?.agent { stopFollowing(agent) }
        host.pausedUntil = max(host.pausedUntil ?? now, now + duration)
        record("\(host.name) agent paused for \(duration)")
    }

    func after(_ delay: Duration, _ agent: SimAgent, _ body: @escaping (SimAgent) -> Void) {
        at(now + delay, agent, body)
    }

    /// Runs the world for `duration` of virtual time.
    public func run(for duration: Duration) {
        scheduler.run(until: now + duration)
    }

    /// Runs until `condition` holds (checked after every event) or `timeout` passes; true if it held.
    @discardableResult
    public func run(until condition: () -> Bool, timeout: Duration) -> Bool {
        let deadline = now + timeout
        if condition() { return true }
        while now < deadline {
            scheduler.run(until: min(deadline, now + .milliseconds(10)))
            if condition() { return true }
        }
        return false
    }

    func uniform(_ range: ClosedRange<Double>) -> Duration {
        .nanoseconds(Int64(Double.random(in: range, using: &random) * 1e9))
    }

    // MARK: etcd

    /// Whether `host` gets answers from etcd: etcd runs, has a leader, and the host is not cut off.
    var etcdReachable: (SimHost) -> Bool {
        { [unowned self] host in !faults.etcdDown && !faults.cutFromEtcd.contains(host.index) && etcdCluster.leader != nil }
    }

    /// One request from `host` to etcd and its answer, each way with latency; unreachable
    /// etcd means a timeout. An answer lost on the way back still left its effect in etcd.
    func etcdCall<T>(_ host: SimHost, _ operation: @escaping (inout InMemoryEtcd) throws -> T,
                     completion: @escaping (Result<T, any Error>) -> Void) {
        let generation = host.generation
        let deliver = { [unowned self] (result: Result<T, any Error>) in
            runOrDefer(host) { [unowned self] in
                guard host.generation == generation, host.agent != nil else { return }
                if case .failure = result { statistics.etcdRequestsFailed += 1 }
                completion(result)
            }
        }
        let timeout = options.requestTimeout
        // etcd holds a request through a short election and answers once a leader is chosen.
        if etcdCluster.leader == nil, let ends = etcdCluster.electionEnds, ends - now < timeout,
           !faults.etcdDown, !faults.cutFromEtcd.contains(host.index), etcdCluster.isHealthy(etcdCluster.member(of: host.index)) {
            scheduler.schedule(at: ends) { [unowned self] in etcdCall(host, operation, completion: completion) }
            return
        }
        guard etcdReachable(host), !clientMemberIsolated(host) else {
            scheduler.schedule(after: timeout) { deliver(.failure(EtcdError.unavailable("etcd unreachable (simulated)"))) }
            return
        }
        let out = uniform(options.etcdLatency) + extraEtcdDelay()
        let requestLost = faults.etcdLoss > 0 && Double.random(in: 0..<1, using: &random) < faults.etcdLoss
        scheduler.schedule(after: out) { [unowned self] in
            guard etcdReachable(host), !requestLost else {
                scheduler.schedule(after: timeout - out) { deliver(.failure(EtcdError.unavailable("etcd unreachable (simulated)"))) }
                return
            }
            syncEtcdTime()
            // Expiries that time brought are indexed before the request reads anything.
            etcdChanged()
            statistics.etcdRequests += 1
            let result = Result { try operation(&etcd) }
            etcdChanged()
            let back = uniform(options.etcdLatency) + extraEtcdDelay()
            let answerLost = faults.etcdLoss > 0 && Double.random(in: 0..<1, using: &random) < faults.etcdLoss
            scheduler.schedule(after: back) { [unowned self] in
                if etcdReachable(host) && !answerLost {
                    deliver(result)
                } else {
                    scheduler.schedule(after: timeout - out - back) { deliver(.failure(EtcdError.unavailable("answer lost (simulated)"))) }
                }
            }
        }
    }

    private func extraEtcdDelay() -> Duration {
        faults.etcdDelay > .zero ? uniform(0...(Double(faults.etcdDelay.components.seconds) + Double(faults.etcdDelay.components.attoseconds) / 1e18)) : .zero
    }

    func syncEtcdTime() {
        guard etcdDownSince == nil else { return }
        etcd.advanceTime(to: now - etcdDowntime)
    }

    /// After anything that may have changed etcd: hand the new events to the watchers, check
    /// the leases, and make sure the next lease expiry has a timer. Each batch is decoded once
    /// and delivered to every watcher by one event (thousands of hosts watch).
    func etcdChanged() {
        if etcd.revision != distributedRevision {
            let fresh: [WatchBatch]
            do {
                fresh = try etcd.history(prefix: layout.subnetsPrefix + "/", fromRevision: distributedRevision + 1)
            } catch {
                fresh = []
                violation("the simulator lost etcd events before revision \(etcd.revision): \(error)")
            }
            distributedRevision = etcd.revision
            if !fresh.isEmpty {
                liveLeases.index(fresh, layout: layout)
                let batches = fresh.map { EtcdRegistry.leaseEvents($0, layout: layout) }
                for broken in ledger.check(batches.map { ledgerScreen?.screen($0) ?? $0 }) { violation(broken) }
                broadcast(batches)
            }
        }
        // While etcd is down its time stands still: no expiry until it is back.
        if etcdDownSince == nil, let next = etcd.nextExpiry {
            let due = next + etcdDowntime
            if expiryCheckAt.map({ due < $0 || $0 < now }) ?? true {
                expiryCheckAt = due
                scheduler.schedule(at: due) { [unowned self] in
                    if expiryCheckAt == due { expiryCheckAt = nil }
                    syncEtcdTime()
                    etcdChanged()
                }
            }
        }
    }

    /// The listing at etcd's current revision (`revision`), built from the decoded index
    /// rather than by decoding every value again: what `LeaseOperations.listing` returns for
    /// a range over `subnets/`, however many hosts ask.
    public func liveListing(revision: Int64) -> LeaseListing {
        liveLeases.listing(revision: revision)
    }

    private func faultsChanged(from old: SimFaults) {
        if faults.etcdDown != old.etcdDown { etcdServingChanged() }
        // Watches of hosts that lost etcd break; the agents notice after the keepalive.
        breakWatches(keeping: { !faults.etcdDown && !faults.cutFromEtcd.contains($0.index) })
    }

    /// Breaks the watch of every watching host for which `keeps` is false.
    func breakWatches(keeping keeps: (SimHost) -> Bool) {
        for host in hosts where watches[host.index] != nil && !keeps(host) {
            setWatch(host.index, next: nil)
            if let agent = host.agent { after(options.watchBreakDetection, agent) { $0.watchBroken() } }
        }
    }

    /// etcd stopped or started serving (stopped, restarted, lost or regained its leader). While
    /// it does not serve, its time stands still; when it serves again every lease gets its full
    /// TTL again (etcd's lessor promote on a new leader or after a restart).
    func etcdServingChanged() {
        let serving = !faults.etcdDown && etcdCluster.leader != nil
        if !serving, etcdDownSince == nil {
            syncEtcdTime()
            etcdChanged()
            etcdDownSince = now
        } else if serving, let since = etcdDownSince {
            etcdDowntime += now - since
            etcdDownSince = nil
            syncEtcdTime()
            etcd.refreshAllLeases()
            expiryCheckAt = nil
            etcdChanged()
        }
    }

    /// Compacts etcd's history up to its current revision (etcdctl compact).
    public func compactEtcd() {
        etcdChanged()
        let revision = etcd.revision
        try? etcd.compact(revision)
        record("etcd compacted at revision \(revision)")
    }

    // MARK: Invariants

    func leaseAcquired(by host: SimHost) {
        guard let mine = host.agent?.held?.key.ipv4 else { return }
        for other in ledger.acquired(mine, by: host, among: hosts) {
            // Another running agent believes it holds the same subnet: allowed only for as
            // long as it takes that agent to learn it lost it; recorded, then judged at settle.
            record("\(host.name) and \(other.name) both believe they hold \(mine)")
        }
    }

    func violation(_ text: String) {
        violations.append("\(SimTrace.format(now)) \(text)")
        record("INVARIANT BROKEN: \(text)")
        // The first broken invariant ends the run: what follows would only repeat it.
        scheduler.halt()
    }
}
