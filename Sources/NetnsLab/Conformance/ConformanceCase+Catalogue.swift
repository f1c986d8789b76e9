import Agent

/// The scenarios a binary we did not write can take: each checks through etcd, the kernel and
/// pings only, and makes a lease expire the way etcd does (the key goes) rather than through
/// a TTL flag that upstream does not have.
extension ConformanceCase {
    public static let catalogue: [ConformanceCase] = [seedPing, vxlanSeedPing, vxlanKernelEntries, hostGWSeedPing, restartKeepsSubnet,
                                                      peerLeaves, ownLeaseExpires, watchBurst, hijackingKey, reservation, allocationRace,
                                                      subnetTakenDrift, etcdOutage, etcdPartition, watchCompaction, malformedLeases, dualStack]

    /// S1: the walkthrough's udp backend, two hosts, containers ping both ways with ttl 60.
    static let seedPing = ConformanceCase(id: "seed-ping", origin: "S1", summary: "udp: two hosts, containers ping both ways, ttl=60") { run in
        let (h1, h2, _) = try run.twoHosts(backend: "udp")
        try run.pingBothWays(h1, h2, ttl: 60)
    }

    /// S12 vxlan: pings both ways with ttl 62.
    static let vxlanSeedPing = ConformanceCase(id: "vxlan-seed-ping", origin: "S12", summary: "vxlan: two hosts, containers ping both ways, ttl=62") { run in
        let (h1, h2, _) = try run.twoHosts(backend: "vxlan")
        try run.pingBothWays(h1, h2, ttl: 62)
    }

    /// S12 vxlan's kernel objects as COMPAT.md lists them (upstream since 0.9): a route per peer
    /// via its subnet's base, onlink, on flannel.1.
    static let vxlanKernelEntries = ConformanceCase(
        id: "vxlan-kernel-entries", origin: "S12", summary: "vxlan: a route per peer via its base onlink on flannel.1 (COMPAT.md)",
        notApplicable: { subject in
            subject.etcdV2 ? "0.7.0's vxlan routes the whole network via flannel.1 and answers the kernel's L3 misses from user space (backend/vxlan/network.go); per-peer routes came later" : nil
        }) { run in
        let (h1, _, peer) = try run.twoHosts(backend: "vxlan")
        try run.waitForRoute(on: h1, to: peer, containing: "via \(peer.address) dev flannel.1", "onlink")
    }

    /// S12 host-gw: the peer's route via its PublicIP on eth0, pings with ttl 62.
    static let hostGWSeedPing = ConformanceCase(id: "host-gw-seed-ping", origin: "S12", summary: "host-gw: the peer's route via its PublicIP on eth0, pings ttl=62") { run in
        let (h1, h2, peer) = try run.twoHosts(backend: "host-gw")
        try run.waitForRoute(on: h1, to: peer, containing: "via \(h2.address) dev eth0")
        try run.pingBothWays(h1, h2, ttl: 62)
    }

    /// S2: the agent restarted keeps its subnet (subnet.env and etcd), and traffic resumes.
    static let restartKeepsSubnet = ConformanceCase(id: "restart-keeps-subnet", origin: "S2", summary: "vxlan: an agent restarted keeps its subnet; pings resume") { run in
        let (h1, h2, _) = try run.twoHosts(backend: "vxlan")
        let before = try run.subnet(of: h1)
        let (c1, c2) = try run.pingBothWays(h1, h2, ttl: 62)
        h1.stopAgent()
        let after = try run.start(h1)
        guard after == before else {
            throw ConformanceFailure(check: "h1's subnet after a restart", expected: "\(before)", happened: "\(after)")
        }
        let keys = try run.etcd.leaseKeys()
        guard keys.filter({ $0.hasPrefix("subnets/") }).count == 2 else {
            throw ConformanceFailure(check: "etcd after h1's restart", expected: "one lease per host", happened: keys.joined(separator: ", "))
        }
        try run.ping(c2, c1, ttl: 62)
    }

    /// S6: a host's agent stops and its lease goes (as a TTL ends): its route goes from the others.
    static let peerLeaves = ConformanceCase(id: "peer-leaves", origin: "S6", summary: "host-gw: a peer's lease goes (expiry): its route is removed within 15 s") { run in
        let (h1, h2, peer) = try run.twoHosts(backend: "host-gw")
        try run.waitForRoute(on: h1, to: peer, containing: "via \(h2.address) dev eth0")
        h2.stopAgent()
        try run.etcd.delete("subnets/\(peer.address)-\(peer.prefixLength)")
        do {
            try Poll.until("h1 to drop \(peer)", timeout: .seconds(15), interval: .milliseconds(100)) { try run.route(on: h1, to: peer) == nil }
        } catch {
            throw ConformanceFailure(check: "h1's route to the departed \(peer)", expected: "removed within 15 s",
                                     happened: "still there: \(try run.route(on: h1, to: peer) ?? "")")
        }
    }

    /// S3: our own lease expires while we run (the key goes, as etcd removes an expired one):
    /// the agent takes the same subnet back and keeps running.
    static let ownLeaseExpires = ConformanceCase(id: "own-lease-expires", origin: "S3", summary: "host-gw: the running agent's own lease goes: it takes the same subnet back within 30 s and keeps running") { run in
        try run.writeConfig(backend: "host-gw")
        let h1 = try run.addHost()
        let subnet = try run.start(h1)
        let key = "subnets/\(subnet.address)-\(subnet.prefixLength)"
        try run.etcd.delete(key)
        do {
            try Poll.until("h1's lease back in etcd", timeout: .seconds(30), interval: .milliseconds(200)) {
                guard h1.agent?.isRunning == true else { throw ConformanceFailure(check: "", expected: "", happened: "") }
                return try run.etcd.get(key) != nil
            }
        } catch {
            throw ConformanceFailure(check: "h1's lease after it expired", expected: "\(subnet) taken back within 30 s by the running agent",
                                     happened: run.exitReason(h1).map { "the agent exited: \($0)" } ?? "etcd has no lease for \(subnet), and the agent runs on without one")
        }
    }

    /// Built for upstream 0.20.2's watch (COMPAT.md): six leases written in one etcd
    /// transaction while the agent watches; every one must get its route.
    static let watchBurst = ConformanceCase(id: "watch-burst", origin: "built for 0.20.2's watch", summary: "host-gw: six leases created at once while the agent watches: a route for each within 15 s") { run in
        try run.writeConfig(backend: "host-gw")
        let h1 = try run.addHost()
        try run.start(h1)
        // Let the agent open its watch: a lease of a first peer, written alone, is routed first.
        let first = IPv4Network(address: IPv4Address(10, 1, 240, 0), prefixLength: 24)
        try run.etcd.put("subnets/10.1.240.0-24", #"{"PublicIP":"192.0.2.50","BackendType":"host-gw"}"#)
        try run.waitForRoute(on: h1, to: first, containing: "via 192.0.2.50 dev eth0")
        let burst = (1...6).map { index in
            (subnet: IPv4Network(address: IPv4Address(10, 1, UInt8(240 + index), 0), prefixLength: 24), publicIP: "192.0.2.\(50 + index)")
        }
        try run.etcd.putAll(burst.map { ("subnets/\($0.subnet.address)-24", #"{"PublicIP":"\#($0.publicIP)","BackendType":"host-gw"}"#) })
        do {
            try Poll.until("h1 to route all six", timeout: .seconds(15), interval: .milliseconds(100)) {
                try burst.allSatisfy { try run.route(on: h1, to: $0.subnet) != nil }
            }
        } catch {
            let routed = try burst.filter { try run.route(on: h1, to: $0.subnet) != nil }.map { "\($0.subnet)" }
            let missing = try burst.filter { try run.route(on: h1, to: $0.subnet) == nil }.map { "\($0.subnet)" }
            throw ConformanceFailure(check: "routes after six leases created at once", expected: "a route for each of the six within 15 s",
                                     happened: "\(routed.count) of 6 routed (\(routed.joined(separator: ", "))); never routed: \(missing.joined(separator: ", "))")
        }
    }

    /// S17's first attack: a `/25` key inside a peer's subnet, written by anyone with access to
    /// the prefix; the agent must not route it (it would take half the peer's traffic).
    static let hijackingKey = ConformanceCase(id: "hijacking-key", origin: "S17", summary: "host-gw: a /25 lease inside a peer's /24 (a hostile writer's) is not routed") { run in
        try run.writeConfig(backend: "host-gw")
        let (h1, h2) = (try run.addHost(), try run.addHost())
        let peer = try run.start(h2)
        let half = IPv4Network(address: IPv4Address(bits: peer.address.bits + 128), prefixLength: 25)
        try run.etcd.put("subnets/\(half.address)-25", #"{"PublicIP":"192.0.2.66","BackendType":"host-gw"}"#)
        // h1 starts with both keys in its first listing: once h2's /24 is routed, the /25 was seen too.
        try run.start(h1)
        try run.waitForRoute(on: h1, to: peer, containing: "via \(h2.address) dev eth0")
        if let hijack = try run.route(on: h1, to: half) {
            throw ConformanceFailure(check: "h1's route for the hostile \(half)", expected: "none (not SubnetLen long)",
                                     happened: "\(hijack): half of \(peer)'s traffic goes to 192.0.2.66")
        }
    }
}
