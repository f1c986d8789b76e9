import AgentCore
import ClusterScenarios

/// The simulator as a `ClusterHarness`: the shared scenarios run on virtual time, every
/// random choice from the seed, with the simulator's own extras (its trace as an underlay
/// capture, etcd request counts, and the invariants judged after the run).
public final class SimCluster: ClusterHarness {
    public let world: SimWorld
    /// Running ping series, by token.
    var series: [Int: SimPingSeries] = [:]
    var nextSeriesToken = 1

    public init(seed: UInt64, options: SimOptions = SimOptions()) {
        world = SimWorld(seed: seed, options: options)
    }

    public var kind: ClusterWorld { .simulator }
    public var capabilities: Set<ClusterCapability> { [.underlayCapture, .etcdRequestCounts, .invariants] }

    /// Runs `scenario` on `seed` and reports it.
    public static func run(_ scenario: Scenario, seed: UInt64, keepsTrace: Bool = true,
                           progress: @escaping (String) -> Void = { _ in }) -> (report: ScenarioReport, cluster: SimCluster) {
        var options = SimOptions()
        options.keepsTrace = keepsTrace
        options.etcdMembers = scenario.etcd.members
        let cluster = SimCluster(seed: seed, options: options)
        cluster.world.record("scenario \(scenario.id) \(scenario.name), seed \(seed)")
        if scenario.etcd.members > 1 { cluster.world.record("etcd: a cluster of \(scenario.etcd.members) members, m1 leads") }
        var report = scenario.run(on: cluster, progress: progress)
        report.notes.append("seed \(seed): \(cluster.world.trace.count) trace lines, hash \(cluster.world.trace.hashText), \(SimTrace.format(cluster.world.now)) simulated")
        if !report.passed {
            report.diagnostics.append("replay: swift run flannel-sim run \(scenario.name) --seed \(seed) --trace")
        }
        return (report, cluster)
    }

    func simHost(_ host: ClusterHost) -> SimHost { world.host(host.index) }

    // MARK: etcd

    public func writeConfig(_ json: String) throws {
        world.writeNetworkConfig(json)
    }

    public func putKey(_ relativeKey: String, _ value: String) throws {
        world.putKey(world.layout.prefix + "/" + relativeKey, value)
    }

    public func putKeys(_ entries: [(key: String, value: String)]) throws {
        world.putKeys(entries.map { (key: world.layout.prefix + "/" + $0.key, value: $0.value) })
    }

    public func deleteKey(_ relativeKey: String) throws {
        world.deleteKey(world.layout.prefix + "/" + relativeKey)
    }

    public func leases() throws -> [ClusterLease] {
        // The scenarios' leases are IPv4 ones (the simulator runs IPv4 and dual-stack networks).
        world.etcd.listLeases(layout: world.layout).records.compactMap { record in
            guard let subnet = record.key.ipv4 else { return nil }
            let kv = world.etcd.range(key: world.layout.leaseKey(record.key)).kvs.first
            return ClusterLease(subnet: subnet, attributes: record.attributes, hasTTL: !record.isReservation,
                                createRevision: kv?.createRevision ?? 0, modRevision: record.modRevision)
        }
    }

    public func etcdRevision() throws -> Int64 { world.etcd.revision }

    public func compactEtcd() throws { world.compactEtcd() }

    public func stopEtcd() throws {
        world.faults.etcdDown = true
        world.record("etcd stopped")
    }

    public func startEtcd() throws {
        world.faults.etcdDown = false
        world.record("etcd started")
    }

    // MARK: etcd as a cluster

    public func etcdLeader() throws -> Int? { world.etcdLeader }
    public func killEtcdMember(_ member: Int) throws { world.killEtcdMember(member) }
    public func startEtcdMember(_ member: Int) throws { world.startEtcdMember(member) }
    public func isolateEtcdMember(_ member: Int, _ isolated: Bool) throws { world.isolateEtcdMember(member, isolated) }

    /// Removed, wiped and added back: the member is gone for as long as that takes (a few
    /// seconds in the lab), then catches up from the others.
    public func replaceEtcdMember(_ member: Int) throws {
        world.killEtcdMember(member)
        world.record("etcd member m\(member) removed from the cluster and its data wiped; added back")
        world.run(for: .seconds(3))
        world.startEtcdMember(member)
    }

    // MARK: Hosts and agents

    public func addHost() throws -> ClusterHost {
        let host = world.addHost()
        return ClusterHost(index: host.index, publicIP: host.publicIP, publicIPv6: host.publicIPv6)
    }

    public func startAgent(on host: ClusterHost, _ settings: AgentSettings) throws {
        let simHost = simHost(host)
        simHost.agentLeaseTTL = settings.leaseTTL
        world.startAgent(simHost)
    }

    public func stopAgent(on host: ClusterHost) throws -> Int32? {
        let simHost = simHost(host)
        guard simHost.agent != nil else { return nil }
        world.stopAgent(simHost)
        return 0
    }

    public func agentIsRunning(on host: ClusterHost) -> Bool { simHost(host).agent != nil }

    public func subnetFile(of host: ClusterHost) throws -> SubnetFile? { simHost(host).subnetFile }

    public func knowsPeer(_ subnet: IPv4Network, on host: ClusterHost) throws -> Bool {
        simHost(host).agent?.table.peers.contains { $0.subnet == subnet } ?? false
    }

    public func drifts(of host: ClusterHost) throws -> [ClusterDrift] {
        world.drifts.filter { $0.host == host.index }.map { ClusterDrift(from: $0.from, to: $0.to) }
    }

    /// The agents' log lines are in the trace, after the time and the host's name.
    public func logCount(_ text: String, on host: ClusterHost) throws -> Int {
        let marker = "] \(host.name) "
        return world.trace.lines.filter { $0.contains(marker) && $0.contains(text) }.count
    }

    /// From the trace since the host's agent last started: "h1 route 10.1.45.0/24 via 192.0.2.12
    /// added", "… (was via …)", "… removed".
    public func peerEvents(for subnet: IPv4Network, on host: ClusterHost) throws -> [PeerEvent] {
        let lines = world.trace.lines
        let started = lines.lastIndex { $0.contains("] \(host.name) agent started") } ?? 0
        let marker = "] \(host.name) route \(subnet) via "
        return lines[started...].compactMap { line in
            guard line.contains(marker) else { return nil }
            return line.hasSuffix(" added") ? .added : line.hasSuffix(" removed") ? .removed : .changed
        }
    }

    public func metrics(of host: ClusterHost) throws -> String { throw ScenarioFailure("the simulator has no /metrics") }
    public func logLineCount(on host: ClusterHost) throws -> Int { throw ScenarioFailure("the simulator has no log files") }
    public func failedEtcdRequests() throws -> Int { world.statistics.etcdRequestsFailed }
    public func underlayCapture() throws -> [String] { world.trace.lines }
    public func iperf(from container: ClusterContainer, to target: ClusterContainer) throws -> Double { throw ScenarioFailure("the simulator has no iperf3") }

    public func kernelEntries(on host: ClusterHost, network: IPv4Network) throws -> [String] {
        let tables = simHost(host).kernelTables
        let routes = tables.routes.filter { network.contains($0.destination) }.map { "route \($0)" }
        return (routes + tables.neighbours.map(\.description) + tables.fdb.map(\.description)).sorted()
    }

    public func kernelEntries(on host: ClusterHost, ipv6Network network: IPv6Network) throws -> [String] {
        let tables = simHost(host).ipv6KernelTables
        let routes = tables.routes.filter { network.contains($0.destination) }.map { "route \($0)" }
        return (routes + tables.neighbours.map(\.description) + tables.fdb.map(\.description)).sorted()
    }

    public func deviceMAC(_ device: String, on host: ClusterHost) throws -> MACAddress? {
        let simHost = simHost(host)
        return [simHost.vxlan, simHost.ipv6VXLAN].compactMap { $0 }.first { $0.device.name == device }?.mac
    }

    public func wireGuardDevice(on host: ClusterHost) throws -> ClusterWireGuardDevice? {
        simHost(host).wireguard.map { device in
            ClusterWireGuardDevice(publicKey: device.publicKey.base64, peers: device.peers.values.map {
                "\($0.config.publicKey) \($0.config.endpoint) \($0.config.allowedIPs.joined(separator: ","))"
            })
        }
    }

    public func deleteDevice(_ device: String, on host: ClusterHost) throws {
        if device == WireGuardBackend.deviceName, simHost(host).wireguard != nil {
            world.deleteWireGuardDevice(on: simHost(host))
        } else if simHost(host).vxlan?.device.name == device {
            world.deleteVXLANDevice(on: simHost(host))
        } else if simHost(host).ipv6VXLAN?.device.name == device {
            world.deleteIPv6VXLANDevice(on: simHost(host))
        } else {
            throw ScenarioFailure("\(host) has no \(device)")
        }
    }

    // MARK: Network

    public func cutFromEtcd(_ host: ClusterHost, _ cut: Bool) throws {
        if cut { world.faults.cutFromEtcd.insert(host.index) } else { world.faults.cutFromEtcd.remove(host.index) }
    }

    public func cutLink(_ first: ClusterHost, _ second: ClusterHost, _ cut: Bool) throws {
        let links: [SimFaults.Link] = [.init(from: first.index, to: second.index), .init(from: second.index, to: first.index)]
        for link in links {
            if cut { world.faults.blockedLinks.insert(link) } else { world.faults.blockedLinks.remove(link) }
        }
    }

    // MARK: Containers and traffic

    public func addContainer(on host: ClusterHost) throws -> ClusterContainer {
        guard let container = world.addContainer(on: simHost(host)) else {
            throw ScenarioFailure("\(host) has no subnet.env yet: no docker0 for a container")
        }
        let number = Int(container.name.split(separator: "c").last ?? "") ?? simHost(host).containers.count
        return ClusterContainer(host: host, number: number, address: container.address, ipv6: container.ipv6)
    }

    public func removeContainer(_ container: ClusterContainer) throws {
        let simHost = simHost(container.host)
        guard let simContainer = simHost.containers.first(where: { $0.address == container.address }) else { return }
        world.removeContainer(simContainer, from: simHost)
    }

    func containerIndex(_ container: ClusterContainer) throws -> Int {
        guard let index = simHost(container.host).containers.firstIndex(where: { $0.address == container.address }) else {
            throw ScenarioFailure("\(container) (\(container.address)) is not on \(container.host)")
        }
        return index
    }

    public func ping(from container: ClusterContainer, to address: IPv4Address, wait: Duration) throws -> PingResult {
        switch world.ping(from: simHost(container.host), container: try containerIndex(container), to: address, timeout: wait) {
        case let .reply(ttl): .reply(ttl: Int(ttl))
        case .unreachable: .unreachable
        case .timeout: .noAnswer
        }
    }

    public func ping(from container: ClusterContainer, to address: IPv6Address, wait: Duration) throws -> PingResult {
        switch world.ping(from: simHost(container.host), container: try containerIndex(container), to: address, timeout: wait) {
        case let .reply(ttl): .reply(ttl: Int(ttl))
        case .unreachable: .unreachable
        case .timeout: .noAnswer
        }
    }

    /// A non-peer sends from 203.0.113.9, outside the underlay's hosts.
    public func sendDatagrams(to host: ClusterHost, from peer: ClusterHost?, _ payload: [UInt8], count: Int) throws {
        let sender = peer?.publicIP ?? IPv4Address(203, 0, 113, 9)
        for _ in 0..<count { world.sendDatagram(to: simHost(host), from: sender, payload) }
        world.run(for: .milliseconds(10))
    }

    /// The world counts drops for every host alike; a scenario sends to one host at a time.
    public func dropCount(_ reason: String, on host: ClusterHost) throws -> Int {
        world.statistics.drops["proxy: \(reason)"] ?? 0
    }

    public func udpProbe(from container: ClusterContainer, to address: IPv4Address) throws -> ProbeResult {
        switch world.probeUDP(from: simHost(container.host), container: try containerIndex(container), to: address) {
        case .unreachable(code: 0, _): .netUnreachable
        case .timeout: .noAnswer
        case let other: .other("\(other)")
        }
    }
}
