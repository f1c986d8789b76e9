import AgentCore

/// S2, S3, S4, S6, S7: a lease's life (restart, expiry, drift, departure, reservation).
extension Scenario {
    public static let restartKeepsSubnet = Scenario(
        id: "S2", name: "restart-keeps-subnet",
        summary: "host 2's agent stops for 10 s and restarts: same subnet (the same etcd key, never deleted), no drift, ping works again, the outage is reported"
    ) { run in
        let harness = run.harness
        let (hosts, containers) = try run.cluster(hosts: 2)
        let subnet = try run.waitForSubnet(hosts[1])
        let created = try run.lease(subnet)?.createRevision
        run.expect(try run.ping(containers[0], containers[1]).isReply, "h1c1 → h2c1 answers before the restart")
        // Echoes every 0.2 s across the restart: the longest silence is the outage.
        let pings = try harness.startPings(from: containers[0], to: containers[1].address, interval: .milliseconds(200))
        try harness.pass(.seconds(2), "the ping to run")
        run.step("stopping h2's agent (SIGTERM)")
        let status = try harness.stopAgent(on: hosts[1])
        run.expect(status == 0, "h2's agent exits 0 on SIGTERM (exit status \(status.map(String.init) ?? "-"))")
        run.expect(try run.lease(subnet) != nil, "while h2 is down its lease \(run.leaseKey(subnet)) stays")
        try harness.pass(.seconds(10), "h2's agent to stay down")
        try run.startAgent(hosts[1])
        // A silence counts once an answer ends it: the agent was down 10 s.
        try harness.waitUntil("the ping to be answered again", timeout: .seconds(30)) {
            try harness.pingsSoFar(pings).longestSilence >= .seconds(5)
        }
        let outcome = try harness.stopPings(pings)
        run.note("outage of h2c1 seen from h1c1: \(outcome.longestSilence) without replies (agent down 10 s; \(outcome.lost) of \(outcome.transmitted) echoes lost)")
        run.expect(outcome.resumed, "ping h1c1 → h2c1 works again after the restart")
        run.expect(try run.waitForSubnet(hosts[1]) == subnet, "h2 keeps \(subnet) after the restart")
        run.expect(try harness.drifts(of: hosts[1]).isEmpty, "no drift")
        let createdNow = try run.lease(subnet)?.createRevision
        run.expect(created != nil && createdNow == created, "the same key \(run.leaseKey(subnet)), never deleted in between")
        try run.expectPing(containers[1], containers[0])
    }

    public static let expiredLeaseComesBack = Scenario(
        id: "S3", name: "expired-lease-comes-back",
        summary: "host 2 down longer than the TTL (5 s): peers drop its route, it returns with the subnet from subnet.env"
    ) { run in
        let harness = run.harness
        let (hosts, containers) = try run.cluster(hosts: 2, ttl: shortTTL)
        let subnet = try run.waitForSubnet(hosts[1])
        try harness.stopAgent(on: hosts[1])
        run.step("h2 stopped; waiting for its lease to expire")
        try harness.waitUntil("h1 to drop h2's \(subnet)", timeout: .seconds(30)) { try !harness.knowsPeer(subnet, on: hosts[0]) }
        run.expect(true, "h1 removes h2's route \(subnet) once the lease expires")
        run.expect(try run.lease(subnet) == nil, "h2's lease expired in etcd")
        let probe = try harness.udpProbe(from: containers[0], to: containers[1].address)
        run.expect(probe == .netUnreachable, "with no route the proxy answers a UDP sender with ICMP net unreachable, got \(probe)")
        try run.startAgent(hosts[1], ttl: shortTTL)
        try harness.waitUntil("h1 to learn h2's \(subnet) again", timeout: .seconds(30)) { try harness.knowsPeer(subnet, on: hosts[0]) }
        run.expect(try run.waitForSubnet(hosts[1]) == subnet, "h2 comes back with \(subnet) from subnet.env")
        run.expect(try harness.drifts(of: hosts[1]).isEmpty, "no drift")
        try run.waitForPing(containers[0], containers[1])
        run.expect(true, "h1c1 → h2c1 answers again")
    }

    public static let subnetTakenDrift = Scenario(
        id: "S4", name: "subnet-taken-drift",
        summary: "while host 2 is down past its TTL (5 s), host 3 takes its subnet: host 2 drifts, loudly, with old and new subnet (log, /metrics, subnet.env)"
    ) { run in
        let harness = run.harness
        try run.writeConfig(#"{ "Network": "10.1.0.0/16", "SubnetMin": "10.1.1.0", "SubnetMax": "10.1.3.0" }"#)
        let hosts = try run.addHosts(3)
        for host in hosts[0...1] { try run.startAgent(host, ttl: shortTTL) }
        let held = try hosts[0...1].map { try run.waitForSubnet($0) }
        // h1 must know h2 before "h1 dropped h2" below means anything.
        try run.waitForPeers(Array(hosts[0...1]))
        let all = ["10.1.1.0/24", "10.1.2.0/24", "10.1.3.0/24"].map { IPv4Network($0)! }
        guard let third = all.first(where: { !held.contains($0) }) else {
            throw ScenarioFailure("h1 and h2 hold \(held): not two of the three")
        }
        // The third subnet is someone else's for now: h3 can only get h2's.
        let blocker = run.leaseKey(third)
        try harness.putKey(blocker, #"{"PublicIP":"192.0.2.99"}"#)
        try harness.stopAgent(on: hosts[1])
        try harness.waitUntil("h1 to drop h2's \(held[1])", timeout: .seconds(30)) { try !harness.knowsPeer(held[1], on: hosts[0]) }
        try run.startAgent(hosts[2], ttl: shortTTL)
        run.expect(try run.waitForSubnet(hosts[2]) == held[1], "h3 takes h2's old subnet \(held[1])")
        try harness.deleteKey(blocker)

        try run.startAgent(hosts[1], ttl: shortTTL)
        let now = try run.waitForSubnetChange(hosts[1], from: held[1])
        run.expect(now == third, "h2 gets another subnet, \(third), and subnet.env names it (has \(now))")
        run.expect(try harness.drifts(of: hosts[1]) == [ClusterDrift(from: held[1], to: third)], "the drift is reported with old and new subnet")
        run.expect(try harness.logCount("SUBNET CHANGED: this host had \(held[1]), it now holds \(third)", on: hosts[1]) == 1,
                   "h2's log says \"SUBNET CHANGED: this host had \(held[1]), it now holds \(third)\"")
        try run.expect(needs: .metrics, {
            let metrics = try harness.metrics(of: hosts[1])
            return metrics.contains("flannel_subnet_drifts_total 1\n")
                && metrics.contains(#"flannel_subnet_last_drift_info{from="\#(held[1])",to="\#(third)"} 1.0"# + "\n")
        }, "h2's /metrics counts the drift and names \(held[1]) → \(third)")
        let leases = try harness.leases()
        for (host, subnet) in zip(hosts, [held[0], third, held[1]]) {
            run.expect(leases.contains { $0.subnet == subnet && $0.publicIP == host.publicIP }, "etcd: \(subnet) is \(host)'s")
        }
        let containers = try hosts.map { try run.addContainer(on: $0) }
        try run.waitForPing(containers[0], containers[1])
        try run.expectPing(containers[2], containers[1])
    }

    public static let peerLeaves = Scenario(
        id: "S6", name: "peer-leaves",
        summary: "3 hosts; host 3 stops and its lease (TTL 5 s) expires: its route goes from the others within TTL + 30 s, packets to it get ICMP net unreachable"
    ) { run in
        let harness = run.harness
        let (hosts, containers) = try run.cluster(hosts: 3, ttl: shortTTL)
        let gone = try run.waitForSubnet(hosts[2])
        try run.expectPing(containers[0], containers[2])
        try harness.stopAgent(on: hosts[2])
        try harness.waitUntil("h1 and h2 to drop h3's \(gone)", timeout: .seconds(35)) {
            try hosts[0...1].allSatisfy { try !harness.knowsPeer(gone, on: $0) }
        }
        run.expect(true, "h1 and h2 drop h3's route \(gone) within TTL + 30 s")
        for container in containers[0...1] {
            let probe = try harness.udpProbe(from: container, to: containers[2].address)
            run.expect(probe == .netUnreachable, "\(container) → h3c1 (udp): net unreachable from the proxy, got \(probe)")
        }
        try run.expectPing(containers[0], containers[1])
    }

    public static let reservation = Scenario(
        id: "S7", name: "reservation",
        summary: "a subnet key without TTL names host 2: host 2 gets exactly it, renewals never give it a TTL, nobody else takes it"
    ) { run in
        let harness = run.harness
        try run.writeConfig()
        let hosts = try run.addHosts(3)
        let reserved = IPv4Network("10.1.77.0/24")!
        let key = run.leaseKey(reserved)
        // Written by an operator in another form than ours: the agent rewrites it, keeping no TTL.
        try harness.putKey(key, #"{"PublicIP":"\#(hosts[1].publicIP)","BackendType":"udp"}"#)
        let written = try run.lease(reserved)?.modRevision
        let ttl = Duration.seconds(4)
        for host in hosts { try run.startAgent(host, ttl: ttl) }
        let files = try hosts.map { try run.waitForSubnetFile($0) }
        run.expect(files[1].subnet == reserved, "h2 holds the reserved \(reserved), has \(files[1].subnet.map { "\($0)" } ?? "none")")
        run.expect(try harness.logCount("reservation, no TTL", on: hosts[1]) > 0, "h2's log says it holds a reservation, no TTL")
        try harness.waitUntil("h2's rewrite of the reservation", timeout: .seconds(15)) {
            try run.lease(reserved)?.modRevision != written
        }
        // Three renewals of the others' leases (TTL 4 s) while h2 keeps its reservation.
        let others = try [run.ipv4Subnet(of: files[0], hosts[0]), run.ipv4Subnet(of: files[2], hosts[2])]
        var seen = try others.map { try run.lease($0)?.modRevision }
        var renewals = 0
        try harness.waitUntil("three renewals of h1's and h3's leases", timeout: .seconds(20)) {
            let now = try others.map { try run.lease($0)?.modRevision }
            if now.allSatisfy({ $0 != nil }) && zip(now, seen).allSatisfy({ $0 != $1 }) {
                renewals += 1
                seen = now
            }
            return renewals >= 3
        }
        let leases = try harness.leases()
        run.expect(leases.filter { $0.publicIP == hosts[1].publicIP }.map(\.subnet) == [reserved],
                   "the reservation is still there, naming h2, and h2 holds nothing else")
        run.expect(leases.first { $0.subnet == reserved }?.hasTTL == false, "the reservation still has no TTL after three rounds of renewals")
        run.expect(files[0].subnet != reserved && files[2].subnet != reserved, "nobody else holds it")
        for host in hosts { try run.addContainer(on: host) }
    }
}
