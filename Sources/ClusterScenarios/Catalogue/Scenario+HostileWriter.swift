import AgentCore

/// S17: a host with write access to the prefix, and a forger on the underlay.
extension Scenario {
    public static let hostileWriter = Scenario(
        id: "S17", name: "hostile-writer",
        summary: "short-prefix leases inside a peer's subnet, a /16 and a /0 key, 1.4 MB values, 10,000 junk keys and non-JSON, and forged datagrams from a peer's address: honest pairs stay reachable, no bad entry becomes a peer, a new host still joins, agents keep renewing, forgeries are counted, logs stay bounded"
    ) { run in
        let harness = run.harness
        // Short leases: the agents must keep renewing through all of it.
        let (hosts, containers) = try run.cluster(hosts: 3, agents: 2, ttl: Scenario.shortTTL)
        try run.expectPing(containers[0], containers[1])
        let victim = try run.waitForSubnet(hosts[0])
        let linesBefore = try hosts.prefix(2).map { host in harness.capabilities.contains(.logFiles) ? try harness.logLineCount(on: host) : 0 }

        // The writer: half of h1's subnet and h1's container as a /32 (longest prefix would win),
        // a /16 and a /0 over everyone, a good key with non-JSON, three values of 1.4 MB and
        // 10,000 junk keys, all pointing at an address of its own.
        let attacker = #"{"PublicIP":"192.0.2.99","BackendType":"udp"}"#
        let half = IPv4Network(address: IPv4Address(bits: victim.address.bits + 128), prefixLength: 25)
        let hijacks = [half, IPv4Network(address: containers[0].address, prefixLength: 32),
                       IPv4Network(address: IPv4Address(10, 1, 0, 0), prefixLength: 16), IPv4Network(address: IPv4Address(bits: 0), prefixLength: 0)]
        var writes = hijacks.map { (key: run.leaseKey($0), value: attacker) }
        writes.append((key: "subnets/10.1.250.0-24", value: "{ not json"))
        let huge = String(repeating: "x", count: 1_400_000)
        writes += (1...3).map { (key: "subnets/huge-\($0)", value: huge) }
        writes += (1...10_000).map { (key: "subnets/junk-\($0)", value: "junk") }
        try harness.putKeys(writes)

        // A host joining now still finds a free subnet (the /16 and /0 occupy nothing).
        try run.startAgent(hosts[2], ttl: Scenario.shortTTL)
        let joined = try run.waitForSubnet(hosts[2])
        run.expect(joined.prefixLength == 24 && joined != IPv4Network(address: IPv4Address(10, 1, 250, 0), prefixLength: 24),
                   "h3 joins with a /24 of its own past the junk (\(joined)); the non-JSON key's subnet stays taken")
        try run.waitForPeers(hosts)
        let third = try run.addContainer(on: hosts[2])

        // Forged from h1's address and port to h2: to the metadata service, to h2's own
        // underlay address, to the broadcast address, and from a subnet that is not h1's.
        let target = hosts[1]
        let reasons = ["not_for_us", "spoofed_source"]
        let before = try reasons.map { try harness.dropCount($0, on: target) }
        let forgeries: [(IPv4Address, IPv4Address)] = [
            (containers[0].address, IPv4Address(169, 254, 169, 254)),
            (containers[0].address, target.publicIP),
            (containers[0].address, IPv4Address(255, 255, 255, 255)),
            (IPv4Address(10, 1, 7, 9), containers[1].address),
        ]
        for (source, destination) in forgeries {
            try harness.sendDatagrams(to: target, from: hosts[0], Self.echoRequest(from: source, to: destination), count: 5)
        }
        func counted() throws -> [Int] { try zip(reasons, before).map { try harness.dropCount($0, on: target) - $1 } }
        try harness.waitUntil("h2 to count the forged datagrams", timeout: .seconds(15)) { try counted().reduce(0, +) >= 20 }
        let drops = try counted()
        run.expect(drops == [15, 5], "forgeries dropped: \(drops[0]) not_for_us (expected 15), \(drops[1]) spoofed_source (expected 5)")

        // Two lease lifetimes later: nobody crashed or stopped renewing, no bad key is a peer,
        // and every honest pair still reaches the other, h1's container included (the /32 and
        // the /25 would have taken it).
        try harness.pass(.seconds(12), "two lease lifetimes of renewals")
        for host in hosts {
            run.expect(harness.agentIsRunning(on: host), "\(host)'s agent keeps running")
            for bad in hijacks { run.expect(try !harness.knowsPeer(bad, on: host), "\(host) has no peer \(bad)") }
        }
        let held = try Set(harness.leases().map(\.subnet))
        let honest = try hosts.map { try run.waitForSubnet($0) }
        run.expect(honest.allSatisfy(held.contains), "every honest lease is still in etcd after two TTLs: \(honest.map(\.description))")
        try run.expectPing(containers[1], containers[0])
        try run.expectPing(third, containers[0])
        try run.expectPing(containers[0], third)
        try run.expect(needs: .logFiles, {
            let grown = try zip(hosts.prefix(2), linesBefore).map { try harness.logLineCount(on: $0) - $1 }
            return grown.allSatisfy { $0 < 100 }
        }, "10,000 junk keys and the rest cost each agent fewer than 100 log lines")
    }

    /// An ICMP echo request with valid checksums, as a container would send it.
    static func echoRequest(from source: IPv4Address, to destination: IPv4Address) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 28 + 16)
        bytes[0] = 0x45
        bytes[3] = UInt8(bytes.count)
        bytes[8] = 64
        bytes[9] = 1
        for (offset, address) in [(12, source), (16, destination)] {
            for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: address.bits >> (24 - 8 * index)) }
        }
        bytes[20] = 8
        let header = bytes.withUnsafeBytes { InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<20])) }
        bytes[10] = UInt8(header >> 8)
        bytes[11] = UInt8(header & 0xFF)
        let icmp = bytes.withUnsafeBytes { InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: $0[20...])) }
        bytes[22] = UInt8(icmp >> 8)
        bytes[23] = UInt8(icmp & 0xFF)
        return bytes
    }
}
