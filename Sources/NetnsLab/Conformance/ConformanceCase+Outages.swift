import Agent
import Foundation

/// Scenarios where etcd goes away: for everyone, for one host, and for long enough that the
/// history a host's watch needs is compacted.
extension ConformanceCase {
    /// S9: etcd stopped for 10 s under a udp ping: no echo lost, the same leases afterwards,
    /// and a host joining after etcd returns is reachable (the watch came back).
    static let etcdOutage = ConformanceCase(id: "etcd-outage", origin: "S9", summary: "udp: etcd stopped 10 s under ping: no echo lost, leases kept, a newcomer reachable after") { run in
        let (h1, h2, _) = try run.twoHosts(backend: "udp")
        let (c1, c2) = try run.pingBothWays(h1, h2, ttl: 60)
        let before = try run.etcd.leaseKeys()
        let ping = try run.backgroundPing(c1, c2, count: 75, interval: .milliseconds(200))
        defer { ping.stop() }
        run.lab.stopEtcd()
        Thread.sleep(forTimeInterval: 10)  // the outage itself: its length is the scenario
        try run.lab.startEtcd()
        try run.expectNoLoss(ping, during: "a 10 s etcd outage")
        let after = try run.etcd.leaseKeys()
        guard after == before else {
            throw ConformanceFailure(check: "leases after the outage", expected: before.joined(separator: ", "), happened: after.joined(separator: ", "))
        }
        let h3 = try run.addHost()
        try run.start(h3)
        try run.ping(c1, try h3.addContainer(), ttl: 60)
    }

    /// S15: h1 alone cut off from etcd for 10 s: pings with h2 go on, and a lease created
    /// meanwhile is routed once the cut heals.
    static let etcdPartition = ConformanceCase(id: "etcd-partition", origin: "S15", summary: "host-gw: h1 cut off from etcd 10 s: pings go on; a lease made meanwhile is routed after") { run in
        let (h1, h2, _) = try run.twoHosts(backend: "host-gw")
        let (c1, c2) = try run.pingBothWays(h1, h2, ttl: 62)
        let ping = try run.backgroundPing(c1, c2, count: 75, interval: .milliseconds(200))
        defer { ping.stop() }
        try run.cutFromEtcd(h1)
        let newcomer = IPv4Network(address: IPv4Address(10, 1, 250, 0), prefixLength: 24)
        try run.etcd.put("subnets/10.1.250.0-24", #"{"PublicIP":"192.0.2.60","BackendType":"host-gw"}"#)
        Thread.sleep(forTimeInterval: 10)  // the cut itself: its length is the scenario
        try run.healFromEtcd(h1)
        try run.expectNoLoss(ping, during: "h1's 10 s cut from etcd")
        try run.waitForRoute(on: h1, to: newcomer, containing: "via 192.0.2.60 dev eth0", timeout: .seconds(30))
    }

    /// S10: h1's watch broken (etcd restarted while h1's reconnections are refused) while a
    /// lease is created and etcd's history compacted past h1's watch: once h1 reconnects its
    /// watch is "compacted", so it must list again, and route the lease it missed.
    static let watchCompaction = ConformanceCase(
        id: "watch-compaction", origin: "S10", summary: "host-gw: history compacted past h1's watch while it is cut off: it re-lists and routes the lease it missed",
        notApplicable: { subject in
            subject.etcdV2 ? "etcd's v2 API has no compaction (its 1,000-event window is another mechanism, which the harness cannot force on a watcher)" : nil
        }) { run in
        try run.writeConfig(backend: "host-gw")
        // A first peer in h1's listing: once it is routed, h1 has listed and watches on.
        let first = IPv4Network(address: IPv4Address(10, 1, 240, 0), prefixLength: 24)
        try run.etcd.put("subnets/10.1.240.0-24", #"{"PublicIP":"192.0.2.50","BackendType":"host-gw"}"#)
        let h1 = try run.addHost()
        try run.start(h1)
        try run.waitForRoute(on: h1, to: first, containing: "via 192.0.2.50 dev eth0")
        try run.cutFromEtcd(h1, reset: true)
        run.lab.stopEtcd()
        try run.lab.startEtcd()
        let missed = IPv4Network(address: IPv4Address(10, 1, 241, 0), prefixLength: 24)
        try run.etcd.put("subnets/10.1.241.0-24", #"{"PublicIP":"192.0.2.51","BackendType":"host-gw"}"#)
        for index in 0..<5 { try run.etcd.put("filler", "\(index)") }
        try run.lab.compactEtcd()
        try run.healFromEtcd(h1, reset: true)
        try run.waitForRoute(on: h1, to: missed, containing: "via 192.0.2.51 dev eth0", timeout: .seconds(30))
    }
}
