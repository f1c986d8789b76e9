import AgentCore

/// S8, S9, S10, S15: many agents at once, etcd gone, history compacted, a host cut off.
extension Scenario {
    public static let allocationRace = Scenario(
        id: "S8", name: "allocation-race",
        summary: "6 agents start at once for 4 free subnets: exactly 4 succeed, 2 fail with 'network is full', no duplicates",
        interchangeableHosts: true
    ) { run in
        let harness = run.harness
        try run.writeConfig(#"{ "Network": "10.1.0.0/16", "SubnetMin": "10.1.1.0", "SubnetMax": "10.1.4.0" }"#)
        let hosts = try run.addHosts(6)
        for host in hosts { try run.startAgent(host) }
        try harness.waitUntil("every agent to hold a lease or exit", timeout: .seconds(60)) {
            try hosts.allSatisfy { try harness.subnetFile(of: $0) != nil || !harness.agentIsRunning(on: $0) }
        }
        let holders = try hosts.filter { try harness.subnetFile(of: $0) != nil && harness.agentIsRunning(on: $0) }
        let exited = hosts.filter { !harness.agentIsRunning(on: $0) }
        run.expect(holders.count == 4, "exactly 4 agents hold a lease, \(holders.count) do")
        let subnets = try holders.compactMap { try harness.subnetFile(of: $0)?.subnet }
        run.expect(Set(subnets).count == subnets.count, "no two hold the same subnet: \(subnets.map(\.description).sorted())")
        let leases = try harness.leases()
        run.expect(zip(holders, subnets).allSatisfy { host, subnet in leases.contains { $0.subnet == subnet && $0.publicIP == host.publicIP } },
                   "etcd has each holder's lease under its subnet")
        run.expect(exited.count == 2, "2 agents exit, \(exited.count) did")
        run.expect(try exited.allSatisfy { try harness.logCount("network 10.1.0.0/16 is full", on: $0) >= 1 }, "the 2 say the network is full")
        run.note("holders: " + zip(holders, subnets).map { "\($0) \($1)" }.joined(separator: ", "))
        try run.waitForPeers(holders)
        for host in holders { try run.addContainer(on: host) }
    }

    public static let etcdOutage = Scenario(
        id: "S9", name: "etcd-outage",
        summary: "etcd stops for 2 minutes (leases of 60 s) with a ping running: forwarding continues, agents reconnect, no lease churn, bounded retries and log lines, a newcomer is seen"
    ) { run in
        let harness = run.harness
        let ttl = Duration.seconds(60)
        let (hosts, containers) = try run.cluster(hosts: 3, agents: 2, ttl: ttl)
        let subnets = try hosts[0...1].map { try run.waitForSubnet($0) }
        let created = try subnets.map { try run.lease($0)?.createRevision }
        guard !created.contains(nil) else { throw ScenarioFailure("the leases \(subnets) are not in etcd") }
        try run.waitForPing(containers[0], containers[1])
        let outage = Duration.seconds(120)
        let interval = Duration.milliseconds(500)
        let linesBefore = try run.harness.capabilities.contains(.logFiles) ? hosts[0...1].map { try harness.logLineCount(on: $0) } : []
        let failedBefore = try run.harness.capabilities.contains(.etcdRequestCounts) ? harness.failedEtcdRequests() : 0
        let pings = try harness.startPings(from: containers[0], to: containers[1].address, interval: interval)
        try harness.stopEtcd()
        run.step("etcd stopped for 120 s")
        try harness.pass(.seconds(20), "the outage")
        try run.expect(needs: .iperf3, {
            let received = try harness.iperf(from: containers[0], to: containers[1])
            run.note("iperf3 h1c1 → h2c1 during the outage: \(Int(received / 1e6)) Mbit/s received")
            return received > 0
        }, "a TCP stream (iperf3) h1c1 → h2c1 gets through during the outage")
        try harness.pass(outage - .seconds(20), "the outage")
        let outcome = try harness.stopPings(pings)
        run.expect(hosts[0...1].allSatisfy { harness.agentIsRunning(on: $0) }, "both agents keep running through the outage")
        run.expect(outcome.transmitted >= Int(outage / interval) - 5 && outcome.lost == 0,
                   "forwarding continues: \(outcome.received) of \(outcome.transmitted) echoes answered during the outage")
        try run.expect(needs: .logFiles, {
            let during = try zip(hosts[0...1], linesBefore).map { try harness.logLineCount(on: $0) - $1 }
            run.note("log lines written during the outage: h1 \(during[0]), h2 \(during[1])")
            return during.allSatisfy { $0 <= 30 }
        }, "bounded log lines: at most 30 per agent during the outage")
        try run.expect(needs: .etcdRequestCounts, {
            let failed = try harness.failedEtcdRequests() - failedBefore
            run.note("etcd requests failed during the outage: \(failed)")
            return failed <= 100
        }, "bounded retries: at most 100 failed etcd requests in 2 minutes")

        try harness.startEtcd()
        run.step("etcd started again")
        let restartedAt = try harness.etcdRevision()
        // Both renew (rewrite their key) once etcd is back, well within the 60 s TTL.
        try harness.waitUntil("both agents to renew after the outage", timeout: .seconds(60)) {
            try subnets.allSatisfy { try (run.lease($0)?.modRevision ?? 0) > restartedAt }
        }
        run.expect(true, "both agents renew their leases once etcd is back")
        run.expect(try subnets.map { try run.lease($0)?.createRevision } == created, "no lease churn: the same keys, never re-created")
        run.expect(try hosts[0...1].map { try run.waitForSubnet($0) } == subnets, "same subnets after the outage")
        run.expect(try hosts[0...1].allSatisfy { try harness.drifts(of: $0).isEmpty && harness.logCount("lost lease", on: $0) == 0 },
                   "no agent lost its lease or drifted")
        try run.startAgent(hosts[2], ttl: ttl)
        let newcomer = try run.waitForSubnet(hosts[2])
        try harness.waitUntil("h1 and h2 to learn h3's \(newcomer)", timeout: .seconds(30)) {
            try hosts[0...1].allSatisfy { try harness.knowsPeer(newcomer, on: $0) }
        }
        run.expect(true, "h1 and h2 learn a lease taken after the outage (their watches reconnected)")
        try run.addContainer(on: hosts[2])
    }

    public static let watchCompaction = Scenario(
        id: "S10", name: "watch-compaction",
        summary: "etcd compacted past host 3's watch revision while it is cut off: it re-lists and converges, no hot loop"
    ) { run in
        let harness = run.harness
        let (hosts, _) = try run.cluster(hosts: 4, agents: 3)
        try harness.cutFromEtcd(hosts[2], true)
        try run.waitForLog(hosts[2], "lease watch interrupted", timeout: .seconds(45))
        run.step("h3 cut off from etcd")
        try run.startAgent(hosts[3])
        let fourth = try run.waitForSubnet(hosts[3])
        // One more write after h4's lease, then compaction up to it: h3's resume revision is gone.
        try run.writeConfig()
        try harness.compactEtcd()
        run.step("etcd compacted; h3 reconnects")
        try harness.cutFromEtcd(hosts[2], false)
        try harness.waitUntil("h3 to learn h4's \(fourth)", timeout: .seconds(30)) { try harness.knowsPeer(fourth, on: hosts[2]) }
        run.expect(true, "h3 learns h4's lease \(fourth) after the compaction")
        try harness.pass(.seconds(5), "h3 to settle")
        let relists = try harness.logCount("etcd history was compacted; re-listed", on: hosts[2])
        run.expect(relists == 1, "h3 re-lists once, not in a loop (\(relists) times)")
        try run.expect(needs: .metrics, {
            try harness.metrics(of: hosts[2]).contains(#"flannel_watch_restarts_total{reason="compacted"} 1"# + "\n")
        }, "h3's /metrics counts one watch restart for compaction")
        let newcomer = try run.addContainer(on: hosts[3])
        try run.waitForPing(run.containers[hosts[2]]![0], newcomer)
        run.expect(true, "h3c1 → h4c1 answers")
    }

    public static let partition = Scenario(
        id: "S15", name: "partition",
        summary: "host 1 cut off from etcd for 60 s: forwarding continues, and once back it sees a newcomer; host 1 cut off from host 2 only: only that pair fails, and recovers"
    ) { run in
        let harness = run.harness
        let (hosts, containers) = try run.cluster(hosts: 4, agents: 3)
        try run.waitForPing(containers[0], containers[1])
        try harness.cutFromEtcd(hosts[0], true)
        run.step("h1 cut off from etcd for 60 s")
        let pings = try harness.startPings(from: containers[0], to: containers[1].address, interval: .milliseconds(500))
        try harness.pass(.seconds(60), "the cut")
        let outcome = try harness.stopPings(pings)
        run.expect(try harness.logCount("lease watch interrupted", on: hosts[0]) > 0, "h1's agent noticed it was cut off (its watch was interrupted)")
        run.expect(outcome.lost == 0 && harness.agentIsRunning(on: hosts[0]),
                   "h1c1 → h2c1 keeps working while h1 is cut off from etcd: \(outcome.received) of \(outcome.transmitted) answered")
        try harness.cutFromEtcd(hosts[0], false)
        try run.startAgent(hosts[3])
        let newcomer = try run.waitForSubnet(hosts[3])
        try harness.waitUntil("h1 to learn h4's \(newcomer)", timeout: .seconds(30)) { try harness.knowsPeer(newcomer, on: hosts[0]) }
        run.expect(true, "h1 reconnects and learns h4's lease \(newcomer), taken after the cut")
        try run.addContainer(on: hosts[3])

        try harness.cutLink(hosts[0], hosts[1], true)
        run.step("h1 ↔ h2 cut on the underlay")
        run.expect(try !run.ping(containers[0], containers[1], wait: .seconds(1)).isReply, "h1c1 → h2c1 fails while their link is cut")
        run.expect(try run.ping(containers[0], containers[2]).isReply, "h1c1 → h3c1 still works")
        run.expect(try run.ping(containers[2], containers[1]).isReply, "h3c1 → h2c1 still works")
        try harness.cutLink(hosts[0], hosts[1], false)
        try run.waitForPing(containers[0], containers[1])
        run.expect(true, "h1c1 → h2c1 recovers once the link is back")
    }
}
