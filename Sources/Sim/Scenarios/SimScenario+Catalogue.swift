import AgentCore

/// The scenarios of SCENARIOS.md that the simulator runs. Same names, same stories and the
/// same expectations as the lab's.
extension SimScenario {
    public static let catalogue: [SimScenario] = [
        seedPing, restartKeepsSubnet, expiredLeaseComesBack, subnetTakenDrift, containerRedeploy, peerLeaves,
        reservation, allocationRace, etcdOutage, watchCompaction, badInput, vxlanSeedPing, hostGWSeedPing, partition, chaos,
    ]

    public static let shortLeases: @Sendable (SimOptions) -> SimOptions = { options in
        var options = options
        options.leaseTTL = .seconds(60)
        options.renewMargin = .seconds(30)
        return options
    }

    public static let seedPing = SimScenario(
        id: "S1", name: "seed-ping",
        summary: "2 hosts, udp backend: leases with each host's PublicIP, flannel0 MTU 1472, pings both ways with ttl=60, UDP 8285 > 8285 of length 84"
    ) { run in
        let world = run.world
        let hosts = run.cluster(hosts: 2)
        let leases = world.etcd.listLeases(layout: world.layout).records
        run.expect(leases.count == 2, "two leases in etcd, found \(leases.count)")
        for host in hosts {
            let held = host.agent?.held?.key
            run.expect(leases.contains { $0.key == held && $0.attributes.publicIP == host.publicIP && !$0.isReservation },
                       "\(host.name)'s lease \(held.map { "\($0)" } ?? "none") names \(host.publicIP)")
            run.expect(host.tunnel?.mtu == 1472 && host.subnetFile?.mtu == 1472, "\(host.name): flannel0 and subnet.env MTU 1472")
            run.expect(host.subnetFile?.network == IPv4Network("10.1.0.0/16"), "\(host.name): FLANNEL_NETWORK=10.1.0.0/16")
        }
        run.expectPing(hosts[0], hosts[1])
        run.expectPing(hosts[1], hosts[0])
        run.expect(world.trace.lines.contains { $0.hasSuffix("192.0.2.11.8285 > 192.0.2.12.8285: UDP, length 84") } || !world.options.keepsTrace,
                   "the underlay carries UDP 8285 > 8285 of length 84")
        run.settleAndCheck(after: .seconds(10))
    }

    public static let restartKeepsSubnet = SimScenario(
        id: "S2", name: "restart-keeps-subnet",
        summary: "host 2's agent stops for 10 s and restarts: same subnet (the same etcd key, never deleted), no drift, ping works again, the outage is reported"
    ) { run in
        let world = run.world
        let hosts = run.cluster(hosts: 2)
        let before = hosts[1].agent?.held?.key
        let stoppedAt = world.now
        world.stopAgent(hosts[1])
        world.run(for: .seconds(10))
        world.startAgent(hosts[1])
        let target = hosts[1].containers[0].address
        var back = false
        for _ in 0..<60 where !back {
            if case .reply = world.ping(from: hosts[0], to: target, timeout: .seconds(1)) { back = true }
        }
        run.expect(back, "ping h1c1 -> h2c1 works again after the restart")
        world.record("outage of h2c1 seen from h1c1: \(world.now - stoppedAt) (agent down 10 s)")
        run.expect(hosts[1].agent?.held?.key == before, "h2 keeps \(before.map { "\($0)" } ?? "-") after the restart, has \(hosts[1].agent?.held.map { "\($0.key)" } ?? "none")")
        run.expect(world.drifts.isEmpty, "no drift")
        run.settleAndCheck(after: .seconds(10))
    }

    public static let expiredLeaseComesBack = SimScenario(
        id: "S3", name: "expired-lease-comes-back",
        summary: "host 2 down longer than the TTL (60 s): peers drop its route, it returns with the subnet from subnet.env",
        options: shortLeases
    ) { run in
        let world = run.world
        let hosts = run.cluster(hosts: 2)
        guard let old = hosts[1].agent?.held?.key else { return }
        world.stopAgent(hosts[1])
        let removed = world.run(until: { hosts[0].agent?.table.peers.contains { $0.key == old } == false }, timeout: .seconds(75))
        run.expect(removed, "h1 removes h2's route \(old.ipv4) once the lease expires")
        run.expect(world.etcd.listLeases(layout: world.layout).records.allSatisfy { $0.key != old }, "h2's lease expired in etcd")
        let unreachable = world.probeUDP(from: hosts[0], to: hosts[1].containers[0].address)
        run.expect(unreachable == .unreachable(code: 0, from: hosts[0].tunnel!.address),
                   "with no route the proxy answers a UDP sender with ICMP net unreachable from flannel0, got \(unreachable)")
        world.run(for: .seconds(20))
        world.startAgent(hosts[1])
        world.run(until: { hosts[1].agent?.held != nil }, timeout: .seconds(30))
        run.expect(hosts[1].agent?.held?.key == old, "h2 comes back with \(old.ipv4) from subnet.env")
        world.run(for: .seconds(1))
        run.expectPing(hosts[0], hosts[1])
        run.settleAndCheck(after: .seconds(10))
    }

    public static let subnetTakenDrift = SimScenario(
        id: "S4", name: "subnet-taken-drift",
        summary: "while host 2 is down past its TTL, host 3 takes its subnet: host 2 drifts, loudly, with old and new subnet",
        options: shortLeases
    ) { run in
        let world = run.world
        let config = #"{ "Network": "10.1.0.0/16", "SubnetMin": "10.1.1.0", "SubnetMax": "10.1.3.0" }"#
        let hosts = run.cluster(hosts: 2, config: config)
        guard let old = hosts[1].agent?.held?.key, let file = hosts[1].subnetFile else { return }
        world.stopAgent(hosts[1])
        world.run(for: .seconds(75))
        // Host 3 wants exactly host 2's old subnet (its own subnet.env names it).
        let third = world.addHost()
        third.subnetFile = file
        world.startAgent(third)
        world.run(until: { third.agent?.held != nil }, timeout: .seconds(30))
        run.expect(third.agent?.held?.key == old, "h3 takes h2's old subnet \(old.ipv4)")
        world.startAgent(hosts[1])
        world.run(until: { hosts[1].agent?.held != nil }, timeout: .seconds(30))
        let now = hosts[1].agent?.held?.key
        run.expect(now != nil && now != old, "h2 gets another subnet than \(old.ipv4)")
        run.expect(world.drifts.contains { $0.host == 2 && $0.from == old.ipv4 && $0.to == now?.ipv4 },
                   "the drift is reported with old and new subnet: \(world.drifts)")
        run.expect(hosts[1].subnetFile?.subnet == now?.ipv4, "h2's subnet.env names the new subnet")
        world.deployContainers(on: hosts[1])
        world.deployContainers(on: third)
        run.settleAndCheck(after: .seconds(10))
    }

    public static let containerRedeploy = SimScenario(
        id: "S5", name: "container-redeploy",
        summary: "a container deleted on host 1 and started on host 2 gets an address from host 2's subnet (the walkthrough's IP drift)"
    ) { run in
        let world = run.world
        let hosts = run.cluster(hosts: 2)
        guard let moving = world.addContainer(on: hosts[0]) else { return }
        world.removeContainer(moving, from: hosts[0])
        guard let moved = world.addContainer(on: hosts[1]) else { return }
        world.record("container moved h1 -> h2: \(moving.address) -> \(moved.address)")
        run.expect(hosts[1].subnetFile?.subnet.contains(moved.address) == true && moved.address != moving.address,
                   "the redeployed container's address \(moved.address) is in h2's subnet")
        let outcome = world.ping(from: hosts[0], to: moved.address)
        run.expect(outcome == .reply(ttl: 60), "h1c1 reaches the container at its new address: \(outcome)")
        run.settleAndCheck(after: .seconds(10))
    }

    public static let peerLeaves = SimScenario(
        id: "S6", name: "peer-leaves",
        summary: "3 hosts; host 3 stops and its lease expires: its route goes from the others, packets to it get ICMP net unreachable",
        options: shortLeases
    ) { run in
        let world = run.world
        let hosts = run.cluster(hosts: 3)
        guard let gone = hosts[2].agent?.held?.key else { return }
        let stoppedAt = world.now
        world.stopAgent(hosts[2])
        let removed = world.run(until: { hosts[0...1].allSatisfy { $0.agent?.table.peers.contains { $0.key == gone } == false } },
                                timeout: .seconds(90))
        run.expect(removed, "h1 and h2 drop h3's route \(gone.ipv4) within TTL + 30 s")
        world.record("h3's route gone from h1 and h2 \(world.now - stoppedAt) after h3 stopped (TTL 60 s)")
        for host in hosts[0...1] {
            let outcome = world.probeUDP(from: host, to: hosts[2].containers[0].address)
            run.expect(outcome == .unreachable(code: 0, from: host.tunnel!.address), "\(host.name) -> h3c1 (udp): net unreachable, got \(outcome)")
        }
        run.settleAndCheck(after: .seconds(10))
    }

    public static let reservation = SimScenario(
        id: "S7", name: "reservation",
        summary: "a subnet key without TTL names host 2: host 2 gets exactly it, renewals never give it a TTL, nobody else takes it",
        options: shortLeases
    ) { run in
        let world = run.world
        let reserved = SubnetKey(IPv4Network("10.1.77.0/24")!)
        _ = try? world.etcd.put(key: world.layout.leaseKey(reserved), value: #"{"PublicIP":"192.0.2.12"}"#)
        let hosts = run.cluster(hosts: 3)
        run.expect(hosts[1].agent?.held?.key == reserved, "h2 holds the reserved 10.1.77.0/24")
        world.run(for: .seconds(600))
        let kv = world.etcd.range(key: world.layout.leaseKey(reserved)).kvs.first
        run.expect(kv?.lease == 0, "the reservation still has no TTL after 10 minutes of renewals")
        run.expect(hosts[0].agent?.held?.key != reserved && hosts[2].agent?.held?.key != reserved, "nobody else holds it")
        run.settleAndCheck(after: .seconds(10))
    }

    public static let allocationRace = SimScenario(
        id: "S8", name: "allocation-race",
        summary: "6 agents start at once for 4 free subnets: exactly 4 succeed, 2 fail with 'network is full', no duplicates"
    ) { run in
        let world = run.world
        world.writeNetworkConfig(#"{ "Network": "10.1.0.0/16", "SubnetMin": "10.1.1.0", "SubnetMax": "10.1.4.0" }"#)
        let hosts = (0..<6).map { _ in world.addHost() }
        for host in hosts { world.startAgent(host) }
        world.run(for: .seconds(60))
        let holders = hosts.filter { $0.agent?.held != nil }
        let full = hosts.filter { $0.agent == nil }
        run.expect(holders.count == 4, "exactly 4 agents hold a lease, \(holders.count) do")
        run.expect(Set(holders.compactMap { $0.agent?.held?.key }).count == holders.count, "no two hold the same subnet")
        run.expect(full.count == 2, "2 agents exit, \(full.count) did")
        run.expect(world.trace.lines.filter { $0.contains("agent exits") && $0.contains("full") }.count == 2 || !world.options.keepsTrace,
                   "the 2 say the network is full")
        for host in holders { world.deployContainers(on: host) }
        run.settleAndCheck(after: .seconds(10))
    }

    public static let etcdOutage = SimScenario(
        id: "S9", name: "etcd-outage",
        summary: "etcd stops for 2 minutes (leases of 60 s) with traffic flowing: forwarding continues, agents reconnect, no lease churn, bounded retries, a newcomer is seen",
        options: shortLeases
    ) { run in
        let world = run.world
        let hosts = run.cluster(hosts: 2)
        let subnets = hosts.map { $0.agent?.held?.key }
        let creates = world.statistics.leaseCreates
        let failedBefore = world.statistics.etcdRequestsFailed
        world.faults.etcdDown = true
        world.record("etcd stopped")
        var answered = 0
        for _ in 0..<15 {
            world.run(for: .seconds(8))
            if case .reply = world.ping(from: hosts[0], to: hosts[1].containers[0].address) { answered += 1 }
            if case .reply = world.ping(from: hosts[1], to: hosts[0].containers[0].address) { answered += 1 }
        }
        run.expect(answered == 30, "all 30 pings during the outage answered, \(answered) did")
        world.faults.etcdDown = false
        world.record("etcd started")
        world.run(for: .seconds(60))
        run.expect(hosts.map { $0.agent?.held?.key } == subnets, "same subnets after the outage")
        run.expect(world.statistics.leaseCreates == creates, "no lease churn: \(world.statistics.leaseCreates - creates) new acquisitions")
        let failed = world.statistics.etcdRequestsFailed - failedBefore
        world.record("requests failed during the outage: \(failed)")
        run.expect(failed <= 100, "bounded retries during 2 minutes: \(failed) failed requests")
        let newcomer = world.addHost()
        world.startAgent(newcomer)
        world.run(until: { newcomer.agent?.held != nil }, timeout: .seconds(30))
        let learned = world.run(until: { hosts.allSatisfy { $0.agent?.table.peers.contains { $0.key == newcomer.agent?.held?.key } == true } },
                                timeout: .seconds(30))
        run.expect(learned, "h1 and h2 learn a lease taken after the outage (their watches reconnected)")
        world.deployContainers(on: newcomer)
        run.settleAndCheck(after: .seconds(10))
    }

    public static let watchCompaction = SimScenario(
        id: "S10", name: "watch-compaction",
        summary: "etcd compacted past host 3's watch revision while it is cut off: it re-lists and converges, no hot loop"
    ) { run in
        let world = run.world
        let hosts = run.cluster(hosts: 3)
        world.faults.cutFromEtcd = [3]
        world.run(for: .seconds(5))
        let fourth = world.addHost()
        world.startAgent(fourth)
        world.run(until: { fourth.agent?.held != nil }, timeout: .seconds(30))
        world.deployContainers(on: fourth)
        // One more write after h4's lease, then compaction up to it: h3's resume revision is gone.
        world.writeNetworkConfig(world.options.networkConfig)
        world.compactEtcd()
        world.faults.cutFromEtcd = []
        let newcomer = fourth.agent?.held?.key
        let converged = world.run(until: { hosts[2].agent?.table.peers.contains { $0.key == newcomer } == true }, timeout: .seconds(30))
        run.expect(converged, "h3 learns h4's lease after the compaction")
        let relists = world.trace.lines.filter { $0.contains("h3 etcd history was compacted; re-listed") }.count
        run.expect(relists == 1 || !world.options.keepsTrace, "h3 re-lists once, not in a loop (\(relists) times)")
        run.settleAndCheck(after: .seconds(10))
    }

    public static let badInput = SimScenario(
        id: "S11", name: "bad-input",
        summary: "a malformed config (agents wait, then start on a good one), malformed peer keys and values (skipped; a bad value's subnet stays taken), garbage, truncated, oversized and non-peer datagrams (counted, dropped, forwarding goes on)"
    ) { run in
        let world = run.world
        world.writeNetworkConfig(#"{ "Network": "10.1.0.0/16", "SubnetMin": "10.1.98.0", "SubnetMax": "10.1.99.0" "#)
        let hosts = (0..<2).map { _ in world.addHost() }
        for host in hosts { world.startAgent(host) }
        world.run(for: .seconds(5))
        run.expect(hosts.allSatisfy { $0.agent != nil && $0.agent?.held == nil }, "agents keep running and wait while the config is malformed")
        run.expect(world.trace.lines.contains { $0.contains("waiting for a valid config") } || !world.options.keepsTrace, "the wait says the config is invalid")
        // A key that is no subnet, and a subnet whose value is garbage: both skipped, the latter
        // still taken; the good config offers 10.1.97.0–10.1.99.0, so the two agents must get
        // exactly 10.1.97.0 and 10.1.98.0.
        let prefix = world.layout.subnetsPrefix + "/"
        _ = try? world.etcd.put(key: prefix + "not-a-subnet", value: #"{"PublicIP":"192.0.2.99"}"#)
        _ = try? world.etcd.put(key: prefix + "10.1.99.0-24", value: "{ garbage")
        world.writeNetworkConfig(#"{ "Network": "10.1.0.0/16", "SubnetMin": "10.1.97.0", "SubnetMax": "10.1.99.0" }"#)
        world.run(until: { hosts.allSatisfy { $0.agent?.held != nil } }, timeout: .seconds(30))
        let subnets = Set(hosts.compactMap { $0.agent?.held?.key.ipv4.description })
        run.expect(subnets == ["10.1.97.0/24", "10.1.98.0/24"], "the good config is taken up and the garbage value's subnet stays taken: \(subnets.sorted())")
        for host in hosts { world.deployContainers(on: host) }
        world.run(for: .seconds(1))
        let before = world.statistics.drops
        let target = hosts[1]
        let good = SimPacket.echo(request: true, from: hosts[0].containers[0].address, to: target.containers[0].address, identifier: 1, sequence: 1)
        world.sendDatagram(to: target, from: IPv4Address(203, 0, 113, 9), good)             // not a peer
        world.sendDatagram(to: target, from: hosts[0].publicIP, [0x45, 0, 0])               // truncated
        world.sendDatagram(to: target, from: hosts[0].publicIP, [UInt8](repeating: 0x41, count: 64))  // garbage
        world.sendDatagram(to: target, from: hosts[0].publicIP, [UInt8](repeating: 0x45, count: 2000)) // oversized
        world.run(for: .seconds(1))
        let counted = { (reason: String) in (world.statistics.drops[reason] ?? 0) - (before[reason] ?? 0) }
        run.expect(counted("proxy: not_from_peer") == 1, "the non-peer datagram is counted as not_from_peer")
        run.expect(counted("proxy: malformed") == 2, "the truncated and the garbage datagrams are counted as malformed, got \(counted("proxy: malformed"))")
        run.expect(counted("proxy: oversized") == 1, "the oversized datagram is counted as oversized")
        run.expect(target.agent != nil, "h2's agent keeps running")
        run.expectPing(hosts[0], hosts[1])
        run.settleAndCheck(after: .seconds(10))
    }

    public static let partition = SimScenario(
        id: "S15", name: "partition",
        summary: "host 1 cut off from etcd for 60 s: forwarding continues, and once back it sees a newcomer; host 1 cut off from host 2 only: only that pair fails, and recovers"
    ) { run in
        let world = run.world
        let hosts = run.cluster(hosts: 3)
        world.faults.cutFromEtcd = [1]
        for _ in 0..<6 {
            world.run(for: .seconds(10))
            run.expectPing(hosts[0], hosts[1])
        }
        world.faults.cutFromEtcd = []
        let newcomer = world.addHost()
        world.startAgent(newcomer)
        world.run(until: { newcomer.agent?.held != nil }, timeout: .seconds(30))
        let learned = world.run(until: { hosts[0].agent?.table.peers.contains { $0.key == newcomer.agent?.held?.key } == true },
                                timeout: .seconds(30))
        run.expect(learned, "h1 reconnects and learns h4's lease, taken after the cut")
        world.deployContainers(on: newcomer)
        world.faults.blockedLinks = [.init(from: 1, to: 2), .init(from: 2, to: 1)]
        let cut = world.ping(from: hosts[0], to: hosts[1].containers[0].address)
        run.expect(cut == .timeout, "h1 -> h2 fails while their link is cut, got \(cut)")
        run.expectPing(hosts[0], hosts[2])
        run.expectPing(hosts[2], hosts[1])
        world.faults.blockedLinks = []
        run.expectPing(hosts[0], hosts[1])
        run.settleAndCheck(after: .seconds(10))
    }
}
