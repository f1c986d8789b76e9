import AgentCore

/// S11: bad input in etcd and on the wire, the agents unshaken.
extension Scenario {
    public static let badInput = Scenario(
        id: "S11", name: "bad-input",
        summary: "a malformed config (agents wait, then start on a good one), malformed peer keys and values (skipped; a bad value's subnet stays taken), garbage, truncated, oversized and non-peer datagrams (counted, dropped, forwarding goes on)"
    ) { run in
        let harness = run.harness
        try run.writeConfig(#"{ "Network": "10.1.0.0/16", "SubnetMin": "10.1.98.0", "SubnetMax": "10.1.99.0" "#)
        let hosts = try run.addHosts(2)
        for host in hosts { try run.startAgent(host) }
        try harness.pass(.seconds(5), "the agents to read the malformed config")
        run.expect(try hosts.allSatisfy { try harness.agentIsRunning(on: $0) && harness.subnetFile(of: $0) == nil },
                   "agents keep running and wait while the config is malformed")
        run.expect(try harness.logCount("waiting for a valid config", on: hosts[0]) == 1, "the wait says the config is invalid, once")
        // A key that is no subnet, and a subnet whose value is garbage: both skipped, the latter
        // still taken; the good config offers 10.1.97.0–10.1.99.0, so the two agents must get
        // exactly 10.1.97.0 and 10.1.98.0.
        try harness.putKey("subnets/not-a-subnet", #"{"PublicIP":"192.0.2.99"}"#)
        try harness.putKey("subnets/10.1.99.0-24", "{ garbage")
        try run.writeConfig(#"{ "Network": "10.1.0.0/16", "SubnetMin": "10.1.97.0", "SubnetMax": "10.1.99.0" }"#)
        let subnets = try Set(hosts.map { try run.waitForSubnet($0).description })
        run.expect(subnets == ["10.1.97.0/24", "10.1.98.0/24"], "the good config is taken up and the garbage value's subnet stays taken: \(subnets.sorted())")
        try run.waitForPeers(hosts)
        let containers = try hosts.map { try run.addContainer(on: $0) }
        try run.expectPing(containers[0], containers[1])

        // To h2's udp port: an IPv4-looking packet from no peer, then from h1 a truncated
        // header, 64 bytes of garbage and 2000 bytes, more than any packet of the MTU.
        let target = hosts[1]
        let before = try ["not_from_peer", "malformed", "oversized"].map { try harness.dropCount($0, on: target) }
        try harness.sendDatagrams(to: target, from: nil, [0x45] + [UInt8](repeating: 0, count: 83), count: 1)
        try harness.sendDatagrams(to: target, from: hosts[0], [0x45, 0, 0], count: 1)
        try harness.sendDatagrams(to: target, from: hosts[0], [UInt8](repeating: 0x41, count: 64), count: 1)
        try harness.sendDatagrams(to: target, from: hosts[0], [UInt8](repeating: 0x45, count: 2000), count: 1)
        func counted() throws -> [Int] {
            try zip(["not_from_peer", "malformed", "oversized"], before).map { try harness.dropCount($0, on: target) - $1 }
        }
        try harness.waitUntil("h2 to count the four datagrams", timeout: .seconds(15)) { try counted().reduce(0, +) >= 4 }
        let drops = try counted()
        run.expect(drops[0] == 1, "the non-peer datagram is counted as not_from_peer (\(drops[0]))")
        run.expect(drops[1] == 2, "the truncated and the garbage datagrams are counted as malformed (\(drops[1]))")
        run.expect(drops[2] == 1, "the oversized datagram is counted as oversized (\(drops[2]))")
        try run.expect(needs: .logFiles, {
            // Summed per 10 s tick: the four may straddle two ticks.
            try harness.waitUntil("h2's drop summary", timeout: .seconds(25)) {
                try ["malformed=", "oversized=1", "not_from_peer=1"].allSatisfy { try harness.logCount($0, on: target) >= 1 }
            }
            return try harness.logCount("udp backend dropped packets in the last 10 s", on: target) <= 2
        }, "h2's log summarises the drops by reason at its 10 s tick, not one line per datagram")
        run.expect(harness.agentIsRunning(on: target), "h2's agent keeps running")
        try run.expectPing(containers[0], containers[1])
    }
}
