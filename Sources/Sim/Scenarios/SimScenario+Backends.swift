import AgentCore

/// S12 in the simulator: S1 for the kernel backends, with the lab's expectations (lease
/// values, MTUs, the kernel entries COMPAT.md lists, pings with ttl=62 since the kernel
/// forwards on both hosts), plus a peer leaving and a restart that keeps the VtepMAC.
extension SimScenario {
    public static let vxlanSeedPing = SimScenario(
        id: "S12", name: "vxlan-seed-ping",
        summary: "3 hosts, vxlan backend: leases carry VNI and VtepMAC, MTU 1450, per peer a neighbour, a forwarding entry and an onlink route; pings ttl=62 over UDP 8472; a peer leaving takes its entries; a restart keeps the MAC",
        options: backend(#"{ "Network": "10.1.0.0/16", "Backend": { "Type": "vxlan" } }"#)
    ) { run in
        let world = run.world
        let hosts = run.cluster(hosts: 3)
        let leases = world.etcd.listLeases(layout: world.layout).records
        for host in hosts {
            guard let device = host.vxlan, let held = host.agent?.held else { return run.expect(false, "\(host.name) has no flannel.1 or no lease") }
            let lease = leases.first { $0.key == held.key }?.attributes
            run.expect(lease?.backendType == "vxlan" && lease?.backendData?.member("VtepMAC")?.stringValue == device.mac.description
                       && lease?.backendData?.member("VNI")?.integerValue == 1,
                       "\(host.name)'s lease carries vxlan, VNI 1 and its device's MAC \(device.mac): \(lease?.encoded ?? "none")")
            run.expect(device.address == held.key.ipv4.address, "\(host.name): flannel.1 has \(held.key.ipv4.address)/32")
            run.expect(host.subnetFile?.mtu == 1450 && host.tunnel == nil, "\(host.name): subnet.env MTU 1450, no flannel0")
        }
        // h1's entries for each peer, exactly as COMPAT.md (and the lab's `ip -j`) say.
        func expected(_ peers: [SimHost]) -> [String] {
            peers.flatMap { peer -> [String] in
                guard let subnet = peer.agent?.held?.key.ipv4 ?? peer.subnetFile?.subnet, let mac = peer.vxlan?.mac else { return [] }
                return ["neighbour \(subnet.address) lladdr \(mac) dev flannel.1", "fdb \(mac) dst \(peer.publicIP) dev flannel.1",
                        "route \(subnet) via \(subnet.address) dev flannel.1 onlink"]
            }.sorted()
        }
        run.expect(entries(hosts[0]) == expected([hosts[1], hosts[2]]), "h1's kernel entries: \(entries(hosts[0]))")
        run.expectPing(hosts[0], hosts[1], ttl: 62)
        run.expectPing(hosts[1], hosts[0], ttl: 62)
        run.expect(world.trace.lines.contains { $0.contains("192.0.2.11 > 192.0.2.12.8472: VXLAN vni 1") } || !world.options.keepsTrace,
                   "the underlay carries VXLAN to port 8472")

        leaveAndRestart(run, hosts, expected: expected)

        // flannel.1 deleted by hand: the next resync re-creates it with the lease's MAC.
        let mac = hosts[0].vxlan?.mac
        world.deleteVXLANDevice(on: hosts[0])
        run.expect(world.ping(from: hosts[1], to: hosts[0].containers[0].address) == .timeout, "h2c1 -> h1c1 fails while flannel.1 is gone")
        world.run(for: hosts[0].agent?.machine.configuration.dataPathTick ?? .seconds(10))
        run.expect(hosts[0].vxlan?.mac == mac && entries(hosts[0]) == expected([hosts[1]]),
                   "h1 re-created flannel.1 with \(mac.map { "\($0)" } ?? "-") and its entries: \(hosts[0].vxlan.map { "\($0.mac)" } ?? "none"), \(entries(hosts[0]))")
        run.expectPing(hosts[1], hosts[0], ttl: 62)
        run.settleAndCheck(after: .seconds(10))
    }

    public static let hostGWSeedPing = SimScenario(
        id: "S12", name: "host-gw-seed-ping",
        summary: "3 hosts, host-gw backend: leases say host-gw, MTU 1500, a route per peer via its PublicIP on eth0; pings ttl=62; a peer leaving takes its route",
        options: backend(#"{ "Network": "10.1.0.0/16", "Backend": { "Type": "host-gw" } }"#)
    ) { run in
        let world = run.world
        let hosts = run.cluster(hosts: 3)
        let leases = world.etcd.listLeases(layout: world.layout).records
        for host in hosts {
            let lease = leases.first { $0.key == host.agent?.held?.key }?.attributes
            run.expect(lease?.backendType == "host-gw" && lease?.backendData == nil, "\(host.name)'s lease says host-gw: \(lease?.encoded ?? "none")")
            run.expect(host.subnetFile?.mtu == 1500 && host.tunnel == nil && host.vxlan == nil, "\(host.name): subnet.env MTU 1500, no device")
        }
        func expected(_ peers: [SimHost]) -> [String] {
            peers.compactMap { peer in
                (peer.agent?.held?.key.ipv4 ?? peer.subnetFile?.subnet).map { "route \($0) via \(peer.publicIP) dev eth0" }
            }.sorted()
        }
        run.expect(entries(hosts[0]) == expected([hosts[1], hosts[2]]), "h1's kernel entries: \(entries(hosts[0]))")
        run.expectPing(hosts[0], hosts[1], ttl: 62)
        run.expectPing(hosts[1], hosts[0], ttl: 62)
        leaveAndRestart(run, hosts, expected: expected)
        run.settleAndCheck(after: .seconds(10))
    }

    /// Short leases and the given network config.
    static func backend(_ config: String) -> @Sendable (SimOptions) -> SimOptions {
        { options in
            var options = shortLeases(options)
            options.networkConfig = config
            return options
        }
    }

    /// A host's kernel backend entries as sorted text ("route …", "neighbour …", "fdb …").
    static func entries(_ host: SimHost) -> [String] {
        (host.kernelTables.routes.map { "route \($0)" } + host.kernelTables.neighbours.map(\.description)
            + host.kernelTables.fdb.map(\.description)).sorted()
    }

    /// h3 stops and its lease expires: its entries go from h1 and h2, and traffic between
    /// h1 and h2 goes on. Then h1's agent stops; meanwhile a stale route (and for vxlan a
    /// stale neighbour and forwarding entry) appear and h2's route goes; h1's agent restarts:
    /// same subnet, same VtepMAC in the lease, and exactly the entries h2 needs.
    private static func leaveAndRestart(_ run: SimRun, _ hosts: [SimHost], expected: ([SimHost]) -> [String]) {
        let world = run.world
        world.stopAgent(hosts[2])
        let gone = world.run(until: { hosts[0...1].allSatisfy { entries($0).count == expected([hosts[0], hosts[1]]).count / 2 } },
                             timeout: .seconds(90))
        run.expect(gone, "h1 and h2 drop h3's entries once its lease expires")
        run.expect(entries(hosts[0]) == expected([hosts[1]]), "h1's entries after h3 left: \(entries(hosts[0]))")
        run.expectPing(hosts[0], hosts[1], ttl: 62)

        let mac = hosts[0].vxlan?.mac
        let subnet = hosts[0].agent?.held?.key
        world.stopAgent(hosts[0])
        run.expectPing(hosts[1], hosts[0], ttl: 62)  // the kernel keeps forwarding while the agent is down
        let stale = IPv4Network("10.1.250.0/24")!
        if let device = hosts[0].vxlan?.device {
            let staleMAC = MACAddress("02:00:00:00:02:50")!
            hosts[0].apply(.replaceNeighbour(KernelNeighbour(device: device, address: stale.address, mac: staleMAC)))
            hosts[0].apply(.replaceFDB(KernelFDBEntry(device: device, mac: staleMAC, destination: IPv4Address("192.0.2.250")!)))
            hosts[0].apply(.replaceRoute(KernelRoute(destination: stale, gateway: stale.address, device: device, onlink: true)))
        } else {
            hosts[0].apply(.replaceRoute(KernelRoute(destination: stale, gateway: IPv4Address("192.0.2.250"), device: hosts[0].eth0, onlink: false)))
        }
        if let needed = hosts[0].kernelTables.routes.first(where: { $0.destination != stale }) { hosts[0].apply(.deleteRoute(needed)) }
        run.expect(entries(hosts[0]) != expected([hosts[1]]), "h1's entries are off while its agent is down")
        world.startAgent(hosts[0])
        world.run(until: { hosts[0].agent?.held != nil }, timeout: .seconds(30))
        world.run(for: .seconds(1))
        let lease = world.etcd.listLeases(layout: world.layout).records.first { $0.key == subnet }?.attributes
        run.expect(hosts[0].agent?.held?.key == subnet && hosts[0].vxlan?.mac == mac
                   && lease?.backendData?.member("VtepMAC")?.stringValue == mac?.description,
                   "h1 comes back with \(subnet.map { "\($0)" } ?? "-") and the same VtepMAC in its lease: \(lease?.encoded ?? "none")")
        run.expect(entries(hosts[0]) == expected([hosts[1]]), "h1's entries right after its restart: \(entries(hosts[0]))")
    }
}
