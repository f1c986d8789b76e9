import AgentCore

/// The scenarios only the simulator runs, with its world at hand (raw datagrams, kernel
/// tables, chaos); the shared ones (`Scenario.catalogue` in ClusterScenarios) run here
/// through `SimCluster`.
extension SimScenario {
    public static let catalogue: [SimScenario] = [badInput, chaos]

    public static let shortLeases: @Sendable (SimOptions) -> SimOptions = { options in
        var options = options
        options.leaseTTL = .seconds(60)
        options.renewMargin = .seconds(30)
        return options
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
}
