import Agent
import Foundation

/// S2, S3, S4, S6, S7: a lease's life on real hosts (restart, expiry, drift, departure,
/// reservation).
extension LabScenario {
    public static let restartKeepsSubnet = LabScenario(
        id: "S2", name: "restart-keeps-subnet",
        summary: "host 2's agent stops for 10 s and restarts: same subnet (the same etcd key, never deleted), no drift, ping works again, the outage is reported"
    ) { run in
        try run.writeConfig()
        let hosts = try run.addHosts(2)
        for host in hosts { try run.startAgent(host) }
        let files = try hosts.map { try $0.waitForSubnetFile() }
        let containers = try hosts.map { try $0.addContainer() }
        let key = run.leaseKey(files[1].subnet)
        let created = try run.revision("create_revision", of: key)
        run.expect(try run.ping(containers[0], containers[1]).succeeded, "h1c1 → h2c1 answers before the restart")

        // Echoes every 0.2 s across the restart: the longest silence is the outage.
        let ping = try BackgroundPing(from: containers[0].namespace, to: containers[1].address, count: 1000,
                                      interval: .milliseconds(200), logFile: run.lab.directory.appendingPathComponent("s2-ping.log"))
        defer { ping.stop() }
        try run.hold(for: .seconds(2), "the ping to run")
        run.step("stopping h2's agent (SIGTERM)")
        hosts[1].stopAgent()
        run.expect(hosts[1].agent?.exitStatus == 0, "h2's agent exits 0 on SIGTERM (exit status \(hosts[1].agent?.exitStatus.map(String.init) ?? "-"))")
        run.expect(try run.leases().contains(key), "while h2 is down its lease \(key) stays")
        try run.hold(for: .seconds(10), "h2's agent to stay down")
        try run.startAgent(hosts[1])
        try run.waitForLog(hosts[1], "] ready", times: 2, timeout: .seconds(30))
        // So far the silence counts only when an answer ended it: the agent was down 10 s.
        try Poll.until("the ping to be answered again", timeout: .seconds(15), interval: .milliseconds(200)) {
            ping.soFar.longestSilence >= .seconds(5)
        }
        let outcome = try ping.interrupt()
        run.note("outage of h2c1 seen from h1c1: \(outcome.longestSilence.secondsText) without replies (agent down 10 s; \(outcome.lost) of \(outcome.transmitted) echoes lost)")
        run.expect(outcome.resumed, "ping h1c1 → h2c1 works again after the restart (longest silence \(outcome.longestSilence.secondsText))")
        run.expect(try hosts[1].waitForSubnetFile().subnet == files[1].subnet, "h2 keeps \(files[1].subnet) after the restart")
        run.expect(run.count("SUBNET CHANGED", in: hosts[1]) == 0, "no drift")
        let createdNow = try run.revision("create_revision", of: key)
        run.expect(created != nil && createdNow == created,
                   "the same key \(key), never deleted in between (create_revision \(created.map(String.init) ?? "-"))")
        let back = try run.ping(containers[1], containers[0], count: 2)
        run.expect(back.stdout.contains("ttl=60"), "h2c1 → h1c1 answers with ttl=60")
    }

    public static let expiredLeaseComesBack = LabScenario(
        id: "S3", name: "expired-lease-comes-back",
        summary: "host 2 down longer than the TTL (5 s): peers drop its route, it returns with the subnet from subnet.env"
    ) { run in
        try run.writeConfig()
        let hosts = try run.addHosts(2)
        let ttl = ["--subnet-lease-ttl=5s"]
        for host in hosts { try run.startAgent(host, ttl) }
        let files = try hosts.map { try $0.waitForSubnetFile() }
        let containers = try hosts.map { try $0.addContainer() }
        hosts[1].stopAgent()
        run.step("h2 stopped; waiting for its lease to expire")
        try run.waitForLog(hosts[0], "peer removed: \(files[1].subnet)", timeout: .seconds(30))
        run.expect(true, "h1 removes h2's route \(files[1].subnet) once the lease expires")
        run.expect(try run.leaseKeys(of: hosts[1]).isEmpty, "h2's lease expired in etcd")
        run.expect(try containers[0].namespace.udpProbe(to: containers[1].address) == "errno 101",
                   "with no route the proxy answers a UDP sender with ICMP net unreachable")
        try run.startAgent(hosts[1], ttl)
        try run.waitForLog(hosts[0], "peer added: \(files[1].subnet)", times: 2)
        run.expect(try hosts[1].waitForSubnetFile().subnet == files[1].subnet, "h2 comes back with \(files[1].subnet) from subnet.env")
        run.expect(run.count("SUBNET CHANGED", in: hosts[1]) == 0, "no drift")
        try run.waitForPing(containers[0], containers[1])
        run.expect(true, "h1c1 → h2c1 answers again")
    }

    public static let subnetTakenDrift = LabScenario(
        id: "S4", name: "subnet-taken-drift",
        summary: "while host 2 is down past its TTL, host 3 takes its subnet: host 2 drifts, loudly, with old and new subnet (log, /metrics, subnet.env)"
    ) { run in
        try run.writeConfig(#"{ "Network": "10.1.0.0/16", "SubnetMin": "10.1.1.0", "SubnetMax": "10.1.3.0" }"#)
        let hosts = try run.addHosts(3)
        let ttl = ["--subnet-lease-ttl=5s"]
        for host in hosts[0...1] { try run.startAgent(host, ttl) }
        let files = try hosts[0...1].map { try $0.waitForSubnetFile() }
        let all = ["10.1.1.0/24", "10.1.2.0/24", "10.1.3.0/24"].map { IPv4Network($0)! }
        guard let third = all.first(where: { $0 != files[0].subnet && $0 != files[1].subnet }) else {
            throw LabScenarioFailure("h1 and h2 hold \(files[0].subnet) and \(files[1].subnet): not two of the three")
        }
        // The third subnet is held by someone else for now: h3 can only get h2's.
        let blocker = run.leaseKey(third)
        try run.lab.etcdctl(["put", blocker, #"{"PublicIP":"192.0.2.99"}"#])
        hosts[1].stopAgent()
        try run.waitForLog(hosts[0], "peer removed: \(files[1].subnet)", timeout: .seconds(30))
        try run.startAgent(hosts[2], ttl)
        run.expect(try hosts[2].waitForSubnetFile().subnet == files[1].subnet, "h3 takes h2's old subnet \(files[1].subnet)")
        try run.lab.etcdctl(["del", blocker])

        let port = 18_000 + hosts[1].index
        try run.startAgent(hosts[1], ttl + ["--healthz-port=\(port)"])
        let drift = "SUBNET CHANGED: this host had \(files[1].subnet), it now holds \(third)"
        try run.waitForLog(hosts[1], drift)
        run.expect(true, "h2 gets another subnet, \(third), and its log says \"\(drift)\"")
        try Poll.until("h2's subnet.env to name \(third)", timeout: .seconds(10)) {
            (try? hosts[1].waitForSubnetFile(timeout: .seconds(1)).subnet) == third
        }
        run.expect(true, "h2's subnet.env names the new subnet \(third)")
        let metrics = try hosts[1].metrics(port: port)
        run.expect(metrics.contains("flannel_subnet_drifts_total 1\n")
                   && metrics.contains(#"flannel_subnet_last_drift_info{from="\#(files[1].subnet)",to="\#(third)"} 1.0"# + "\n"),
                   "h2's /metrics counts the drift and names \(files[1].subnet) → \(third)")
        let leases = try run.leases()
        for (host, subnet) in zip(hosts, [files[0].subnet, third, files[1].subnet]) {
            run.expect(leases.contains("\(run.leaseKey(subnet))\n{\"PublicIP\":\"\(host.address)\""), "etcd: \(subnet) is \(host.namespace)'s")
        }
    }

    public static let peerLeaves = LabScenario(
        id: "S6", name: "peer-leaves",
        summary: "3 hosts; host 3 stops and its lease (TTL 5 s) expires: its route goes from the others within TTL + 30 s, packets to it get ICMP net unreachable"
    ) { run in
        try run.writeConfig()
        let hosts = try run.addHosts(3)
        for host in hosts { try run.startAgent(host, ["--subnet-lease-ttl=5s"]) }
        let files = try hosts.map { try $0.waitForSubnetFile() }
        let containers = try hosts.map { try $0.addContainer() }
        run.expect(try containers[0].namespace.udpProbe(to: containers[2].address) == "errno 111",
                   "h3 is reachable while it is here (its container answers port unreachable)")
        let clock = ContinuousClock()
        let stoppedAt = clock.now
        hosts[2].stopAgent()
        let gone = "peer removed: \(files[2].subnet)"
        try Poll.until("h1 and h2 to drop h3", timeout: .seconds(35)) {
            hosts[0...1].allSatisfy { run.count(gone, in: $0) > 0 }
        }
        run.note("h3's route gone from h1 and h2 \((clock.now - stoppedAt).secondsText) after h3 stopped (TTL 5 s)")
        run.expect(true, "h1 and h2 drop h3's route \(files[2].subnet) within TTL + 30 s")
        for (host, container) in zip(hosts[0...1], containers[0...1]) {
            run.expect(try container.namespace.udpProbe(to: containers[2].address) == "errno 101",
                       "\(host.namespace) → h3's container (udp): net unreachable from the proxy")
        }
        run.expect(try run.ping(containers[0], containers[1], count: 2).stdout.contains("ttl=60"), "h1 and h2 still talk")
    }

    public static let reservation = LabScenario(
        id: "S7", name: "reservation",
        summary: "a subnet key without TTL names host 2: host 2 gets exactly it, renewals never give it a TTL, nobody else takes it"
    ) { run in
        try run.writeConfig()
        let hosts = try run.addHosts(3)
        let reserved = IPv4Network("10.1.77.0/24")!
        let key = run.leaseKey(reserved)
        // Written by an operator in another form than ours: the agent rewrites it, keeping no TTL.
        try run.lab.etcdctl(["put", key, #"{"PublicIP":"\#(hosts[1].address)","BackendType":"udp"}"#])
        let written = try run.revision("mod_revision", of: key)
        for host in hosts { try run.startAgent(host, ["--subnet-lease-ttl=4s"]) }
        let files = try hosts.map { try $0.waitForSubnetFile() }
        run.expect(files[1].subnet == reserved, "h2 holds the reserved \(reserved), has \(files[1].subnet)")
        run.expect(run.count("reservation, no TTL", in: hosts[1]) > 0, "h2's log says it holds a reservation, no TTL")
        try Poll.until("h2's rewrite of the reservation", timeout: .seconds(15)) {
            try run.revision("mod_revision", of: key) != written
        }
        // Three renewals of the others' leases (TTL 4 s) while h2 keeps its reservation.
        let others = [files[0], files[2]].map { run.leaseKey($0.subnet) }
        var seen = try others.map { try run.revision("mod_revision", of: $0) }
        var renewals = 0
        try Poll.until("three renewals of h1's and h3's leases", timeout: .seconds(20), interval: .milliseconds(200)) {
            let now = try others.map { try run.revision("mod_revision", of: $0) }
            if now.allSatisfy({ $0 != nil }) && zip(now, seen).allSatisfy({ $0 != $1 }) {
                renewals += 1
                seen = now
            }
            return renewals >= 3
        }
        run.expect(try run.leaseKeys(of: hosts[1]) == [key], "the reservation is still there, naming h2, and h2 holds nothing else")
        run.expect(try !run.hasTTL(key), "the reservation still has no TTL after three rounds of renewals")
        run.expect(files[0].subnet != reserved && files[2].subnet != reserved, "nobody else holds it")
    }
}
