import AgentCore

/// Random faults over a random cluster, judged by the invariants only: the seed picks the
/// cluster size, the free subnets, and every fault, its target and its timing.
extension SimScenario {
    public static let chaos = SimScenario(
        id: "chaos", name: "chaos",
        summary: "2–6 hosts, any backend (udp, vxlan, host-gw, wireguard), 10 minutes of random faults (etcd cuts, outages, lost and slow etcd messages, partitions both and one way, loss, duplication, reordering, compaction, crashes, agent pauses, hosts leaving for good), then heal, settle, check",
        options: shortLeases
    ) { run in
        chaosBody(run, dualStack: false)
    }

    /// The same chaos on a dual-stack network (vxlan or host-gw, `EnableIPv6`): the IPv6
    /// half's kernel entries and pings are judged too.
    public static let chaosDualStack = SimScenario(
        id: "chaos-dual-stack", name: "chaos-dual-stack",
        summary: "chaos on a dual-stack network (vxlan or host-gw with EnableIPv6, a small IPv6 range too): both families' kernel entries and pings judged",
        options: shortLeases
    ) { run in
        chaosBody(run, dualStack: true)
    }

    private static func chaosBody(_ run: SimRun, dualStack: Bool) {
        let world = run.world
        let count = Int.random(in: 2...6, using: &world.random)
        let subnets = count + Int.random(in: 1...3, using: &world.random)
        // Any backend: the kernel backends' entries and flannel-wg's peers are judged like the proxy's routes.
        let backends = dualStack ? ["vxlan", "host-gw"] : ["udp", "vxlan", "host-gw", "wireguard"]
        let backend = backends[Int.random(in: 0..<backends.count, using: &world.random)]
        // Dual-stack: an IPv6 range as tight as the IPv4 one, so that both halves contend.
        let ipv6 = dualStack ? #", "EnableIPv6": true, "IPv6Network": "fd00:10:1::/48", "IPv6SubnetMin": "fd00:10:1:1::", "IPv6SubnetMax": "fd00:10:1:\#(String(subnets, radix: 16))::""# : ""
        let config = #"{ "Network": "10.1.0.0/16", "SubnetMin": "10.1.1.0", "SubnetMax": "10.1.\#(subnets).0"\#(ipv6), "Backend": { "Type": "\#(backend)" } }"#
        let hosts = run.cluster(hosts: count, config: config)
        var restarts: [(host: SimHost, at: Timestamp)] = []
        var departed: [SimHost] = []
        func pick() -> SimHost { hosts[Int.random(in: 0..<hosts.count, using: &world.random)] }

        for _ in 0..<30 {
            switch Int.random(in: 0..<12, using: &world.random) {
            case 0:
                let host = pick()
                world.faults.cutFromEtcd.insert(host.index)
                world.record("fault: \(host.name) cut off from etcd")
            case 1:
                world.faults.etcdDown.toggle()
                world.record("fault: etcd \(world.faults.etcdDown ? "stopped" : "started")")
            case 2:
                let a = pick(), b = pick()
                if a !== b {
                    if Bool.random(using: &world.random) {
                        world.faults.blockedLinks.formUnion([.init(from: a.index, to: b.index), .init(from: b.index, to: a.index)])
                        world.record("fault: \(a.name) <-> \(b.name) partitioned")
                    } else {
                        world.faults.blockedLinks.insert(.init(from: a.index, to: b.index))
                        world.record("fault: \(a.name) -> \(b.name) cut (one way)")
                    }
                }
            case 3:
                world.faults.loss = 0.2
                world.record("fault: 20 % underlay loss")
            case 4:
                world.faults.duplication = 0.2
                world.faults.jitter = .milliseconds(3)
                world.record("fault: 20 % duplication, 3 ms jitter")
            case 5:
                if !world.faults.etcdDown { world.compactEtcd() }
            case 6:
                let host = pick()
                if host.agent != nil {
                    world.stopAgent(host, reason: "crashed")
                    restarts.append((host, world.now + .seconds(Int64.random(in: 5...120, using: &world.random))))
                }
            case 7:
                world.faults = SimFaults()
                world.record("fault: all healed")
            case 8:
                world.faults.cutFromEtcd = []
                world.record("fault: etcd reachable again from every host")
            case 10:
                world.faults.etcdLoss = 0.3
                world.faults.etcdDelay = .seconds(2)
                world.record("fault: 30 % of etcd requests or answers lost, up to 2 s extra delay")
            case 9:
                // Longer than the TTL at times: the lease expires while the agent is frozen.
                world.pauseAgent(pick(), for: .seconds(Int64.random(in: 5...90, using: &world.random)))
            case 11:
                // A host leaves for good (decommissioned): its lease expires, its routes must go.
                let host = pick()
                if hosts.count - departed.count > 2, !departed.contains(where: { $0 === host }) {
                    world.stopAgent(host, reason: "decommissioned")
                    departed.append(host)
                    restarts.removeAll { $0.host === host }
                }
            default:
                break
            }
            let a = pick(), b = pick()
            if a !== b, let target = b.containers.first { _ = world.ping(from: a, to: target.address, timeout: .milliseconds(500)) }
            world.run(for: .seconds(Int64.random(in: 5...30, using: &world.random)))
            for restart in restarts where restart.at <= world.now { world.startAgent(restart.host) }
            restarts.removeAll { $0.at <= world.now }
        }
        // Heal: every fault lifted, every agent running again (systemd restarts them).
        world.faults = SimFaults()
        world.record("chaos over: healing")
        for host in hosts where host.agent == nil && !departed.contains(where: { $0 === host }) { world.startAgent(host) }
        world.run(for: .seconds(180))
        // A host that drifted has its containers redeployed in its new subnet, as docker would be.
        for host in hosts where host.bridge != host.subnetFile?.subnet || host.ipv6Bridge != host.subnetFile?.ipv6Subnet {
            world.deployContainers(on: host)
        }
        world.checkSettled()
    }
}

extension SimScenario {
    /// Chaos with a deliberately broken agent build (the allocator ignores other hosts' leases
    /// and writes unconditionally): proof that the invariants catch a real allocation bug.
    public static let chaosWithBrokenAllocator = SimScenario(
        id: "chaos-broken", name: "chaos-broken-allocator",
        summary: "chaos with an allocator that ignores existing leases: must be caught",
        options: { options in
            var options = chaos.options(options)
            options.brokenAllocator = true
            return options
        },
        body: chaos.body)

    public static let chaosWithBrokenKernelDeletes = SimScenario(
        id: "chaos-broken-kernel", name: "chaos-broken-kernel-deletes",
        summary: "chaos with a kernel that ignores deletions (stale routes, neighbours, forwarding entries): must be caught",
        options: { options in
            var options = chaos.options(options)
            options.brokenKernelDeletes = true
            return options
        },
        body: chaos.body)
}
