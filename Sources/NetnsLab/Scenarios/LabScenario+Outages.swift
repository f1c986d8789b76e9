import Agent
import Foundation

/// S8, S9, S10, S15: many agents at once, etcd gone, history compacted, a host cut off.
extension LabScenario {
    public static let allocationRace = LabScenario(
        id: "S8", name: "allocation-race",
        summary: "6 agents start at once for 4 free subnets: exactly 4 succeed, 2 fail with 'network is full', no duplicates"
    ) { run in
        try run.writeConfig(#"{ "Network": "10.1.0.0/16", "SubnetMin": "10.1.1.0", "SubnetMax": "10.1.4.0" }"#)
        let hosts = try run.addHosts(6)
        for host in hosts { try run.startAgent(host) }
        let holds = { (host: LabHost) in FileManager.default.fileExists(atPath: host.subnetFilePath) }
        try Poll.until("every agent to hold a lease or exit", timeout: .seconds(60), interval: .milliseconds(200)) {
            hosts.allSatisfy { holds($0) || $0.agent?.isRunning == false }
        }
        let holders = hosts.filter(holds)
        let exited = hosts.filter { $0.agent?.isRunning == false }
        run.expect(holders.count == 4, "exactly 4 agents hold a lease, \(holders.count) do")
        let subnets = try holders.map { try $0.waitForSubnetFile().subnet }
        run.expect(Set(subnets).count == subnets.count, "no two hold the same subnet: \(subnets.map(\.description).sorted())")
        let leases = try run.leases()
        run.expect(zip(holders, subnets).allSatisfy { leases.contains("\(run.leaseKey($1))\n{\"PublicIP\":\"\($0.address)\"") },
                   "etcd has each holder's lease under its subnet")
        run.expect(exited.count == 2 && exited.allSatisfy { $0.agent?.exitStatus == 1 }, "2 agents exit with status 1, \(exited.count) exited")
        run.expect(exited.allSatisfy { run.count("network 10.1.0.0/16 is full", in: $0) == 1 }, "the 2 say the network is full")
        run.note("holders: " + zip(holders, subnets).map { "\($0.namespace) \($1)" }.joined(separator: ", "))
    }

    public static let etcdOutage = LabScenario(
        id: "S9", name: "etcd-outage",
        summary: "etcd stops for 2 minutes (leases of 60 s) with a ping and iperf3 running: forwarding continues, agents reconnect, no lease churn, bounded log lines, a newcomer is seen"
    ) { run in
        try run.writeConfig()
        let hosts = try run.addHosts(3)
        let ttl = ["--subnet-lease-ttl=60s"]
        for host in hosts[0...1] { try run.startAgent(host, ttl) }
        let files = try hosts[0...1].map { try $0.waitForSubnetFile() }
        let containers = try hosts[0...1].map { try $0.addContainer() }
        let keys = files.map { run.leaseKey($0.subnet) }
        let created = try keys.map { try run.revision("create_revision", of: $0) }
        guard !created.contains(nil) else { throw LabScenarioFailure("the leases \(keys) are not in etcd") }
        try run.waitForPing(containers[0], containers[1])
        let server = BackgroundProcess(command: containers[1].namespace.command(["iperf3", "-s", "-1"]),
                                       logFile: run.lab.directory.appendingPathComponent("s9-iperf3-server.log"))
        try server.start()
        defer { server.stop() }

        let outage = Duration.seconds(120)
        let linesBefore = hosts[0...1].map { $0.agent?.log.split(separator: "\n").count ?? 0 }
        let interval = Duration.milliseconds(500)
        let ping = try BackgroundPing(from: containers[0].namespace, to: containers[1].address, count: Int(outage / interval),
                                      interval: interval, logFile: run.lab.directory.appendingPathComponent("s9-ping.log"))
        defer { ping.stop() }
        run.lab.stopEtcd()
        run.step("etcd stopped for \(outage.secondsText)")
        let agentsRun = { hosts[0...1].allSatisfy { $0.agent?.isRunning == true } }
        try run.hold(for: .seconds(20), "the outage", running: Array(hosts[0...1]))
        let iperf = try containers[0].namespace.run(["iperf3", "-c", containers[1].address.description, "-t", "5", "-b", "50M", "-J"])
        let received = (try? BenchProbes.iperf(json: iperf.stdout).bitsPerSecond) ?? 0
        run.expect(iperf.succeeded && received > 0, "iperf3 h1c1 → h2c1 during the outage: \(String(format: "%.1f", received / 1e6)) Mbit/s received")
        let outcome = try ping.finish()
        run.expect(agentsRun(), "both agents keep running through the outage")
        run.expect(outcome.transmitted >= Int(outage / interval) - 5 && outcome.lost == 0,
                   "forwarding continues: \(outcome.received) of \(outcome.transmitted) echoes answered during the outage")
        let linesDuring = zip(hosts[0...1], linesBefore).map { ($0.agent?.log.split(separator: "\n").count ?? 0) - $1 }
        run.note("log lines written during the outage: h1 \(linesDuring[0]), h2 \(linesDuring[1])")
        run.expect(linesDuring.allSatisfy { $0 <= 30 }, "bounded log lines: at most 30 per agent in \(outage.secondsText) (\(linesDuring))")

        try run.lab.startEtcd()
        run.step("etcd started again")
        let restartedAt = try run.currentRevision()
        // Both renew (rewrite their key) once etcd is back, well within the 60 s TTL.
        try Poll.until("both agents to renew after the outage", timeout: .seconds(60), interval: .milliseconds(500)) {
            try keys.allSatisfy { try (run.revision("mod_revision", of: $0) ?? 0) > restartedAt }
        }
        run.expect(true, "both agents renew their leases once etcd is back")
        run.expect(try keys.map { try run.revision("create_revision", of: $0) } == created,
                   "no lease churn: the same keys, never re-created (create_revision \(created.map { $0.map(String.init) ?? "-" }))")
        run.expect(try hosts[0...1].map { try $0.waitForSubnetFile().subnet } == files.map(\.subnet), "same subnets after the outage")
        run.expect(hosts[0...1].allSatisfy { run.count("SUBNET CHANGED", in: $0) + run.count("lost lease", in: $0) == 0 },
                   "no agent lost its lease or drifted")
        try run.startAgent(hosts[2], ttl)
        let newcomer = try hosts[2].waitForSubnetFile().subnet
        try Poll.until("h1 and h2 to learn h3's \(newcomer)", timeout: .seconds(30)) {
            hosts[0...1].allSatisfy { run.count("peer added: \(newcomer)", in: $0) > 0 }
        }
        run.expect(true, "h1 and h2 learn a lease taken after the outage (their watches reconnected)")
    }

    public static let watchCompaction = LabScenario(
        id: "S10", name: "watch-compaction",
        summary: "etcd compacted past host 3's watch revision while it is cut off: it re-lists and converges, no hot loop"
    ) { run in
        try run.writeConfig()
        let hosts = try run.addHosts(4)
        let port = 18_000 + hosts[2].index
        for host in hosts[0...2] { try run.startAgent(host, host.index == 3 ? ["--healthz-port=\(port)"] : []) }
        _ = try hosts[0...2].map { try $0.waitForSubnetFile() }
        // Cut h3 off: new connections refused, the open one killed.
        let cut = ["OUTPUT", "-p", "tcp", "-d", "\(Lab.etcdAddress)", "--dport", "2379", "-j", "REJECT", "--reject-with", "tcp-reset"]
        try hosts[2].namespace.check(["iptables", "-I"] + cut)
        try hosts[2].namespace.check(["ss", "-K", "dst", "\(Lab.etcdAddress)", "dport", "=", "2379"])
        try run.waitForLog(hosts[2], "lease watch interrupted", timeout: .seconds(45))
        run.step("h3 cut off from etcd")
        try run.startAgent(hosts[3])
        let fourth = try hosts[3].waitForSubnetFile().subnet
        // One more write after h4's lease, then compaction up to it: h3's resume revision is gone.
        try run.writeConfig()
        let revision = try run.currentRevision()
        try run.lab.etcdctl(["compact", String(revision)])
        run.step("etcd compacted at revision \(revision); h3 reconnects")
        try hosts[2].namespace.check(["iptables", "-D"] + cut)
        try run.waitForLog(hosts[2], "peer added: \(fourth)", timeout: .seconds(30))
        run.expect(true, "h3 learns h4's lease \(fourth) after the compaction")
        try run.hold(for: .seconds(5), "h3 to settle")
        let relists = run.count("etcd history was compacted; re-listed", in: hosts[2])
        run.expect(relists == 1, "h3 re-lists once, not in a loop (\(relists) times)")
        run.expect(try hosts[2].metrics(port: port).contains(#"flannel_watch_restarts_total{reason="compacted"} 1"# + "\n"),
                   "h3's /metrics counts one watch restart for compaction")
        let containers = try [hosts[2], hosts[3]].map { try $0.addContainer() }
        try run.waitForPing(containers[0], containers[1])
        run.expect(true, "h3c1 → h4c1 answers")
    }

    public static let partition = LabScenario(
        id: "S15", name: "partition",
        summary: "host 1 cut off from etcd (iptables in its namespace) for 60 s: forwarding continues, and once back it sees a newcomer; host 1 cut off from host 2 only: only that pair fails, and recovers"
    ) { run in
        try run.writeConfig()
        let hosts = try run.addHosts(4)
        for host in hosts[0...2] { try run.startAgent(host) }
        _ = try hosts[0...2].map { try $0.waitForSubnetFile() }
        let containers = try hosts[0...2].map { try $0.addContainer() }
        try run.waitForPing(containers[0], containers[1])
        let etcdCut = [["OUTPUT", "-p", "tcp", "-d", "\(Lab.etcdAddress)", "--dport", "2379", "-j", "DROP"],
                       ["INPUT", "-p", "tcp", "-s", "\(Lab.etcdAddress)", "--sport", "2379", "-j", "DROP"]]
        for rule in etcdCut { try hosts[0].namespace.check(["iptables", "-I"] + rule) }
        run.step("h1 cut off from etcd for 60 s")
        let ping = try BackgroundPing(from: containers[0].namespace, to: containers[1].address, count: 120,
                                      interval: .milliseconds(500), logFile: run.lab.directory.appendingPathComponent("s15-ping.log"))
        defer { ping.stop() }
        let outcome = try ping.finish()
        // gRPC's keepalive (30 s + 10 s) notices the silent cut within the minute.
        run.expect(run.count("lease watch interrupted", in: hosts[0]) > 0, "h1's agent noticed it was cut off (its watch was interrupted)")
        run.expect(outcome.lost == 0 && hosts[0].agent?.isRunning == true,
                   "h1c1 → h2c1 keeps working while h1 is cut off from etcd: \(outcome.received) of \(outcome.transmitted) answered")
        for rule in etcdCut { try hosts[0].namespace.check(["iptables", "-D"] + rule) }
        try run.startAgent(hosts[3])
        let newcomer = try hosts[3].waitForSubnetFile().subnet
        try run.waitForLog(hosts[0], "peer added: \(newcomer)", timeout: .seconds(30))
        run.expect(true, "h1 reconnects and learns h4's lease \(newcomer), taken after the cut")

        let linkCut = [["OUTPUT", "-p", "udp", "-d", "\(hosts[1].address)", "--dport", "8285", "-j", "DROP"],
                       ["INPUT", "-p", "udp", "-s", "\(hosts[1].address)", "--sport", "8285", "-j", "DROP"]]
        for rule in linkCut { try hosts[0].namespace.check(["iptables", "-I"] + rule) }
        run.step("h1 ↔ h2 cut on the underlay")
        run.expect(try !run.ping(containers[0], containers[1], count: 2, wait: 1).succeeded, "h1c1 → h2c1 fails while their link is cut")
        run.expect(try run.ping(containers[0], containers[2]).succeeded, "h1c1 → h3c1 still works")
        run.expect(try run.ping(containers[2], containers[1]).succeeded, "h3c1 → h2c1 still works")
        for rule in linkCut { try hosts[0].namespace.check(["iptables", "-D"] + rule) }
        try run.waitForPing(containers[0], containers[1])
        run.expect(true, "h1c1 → h2c1 recovers once the link is back")
    }
}
