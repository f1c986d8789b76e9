/// SCENARIOS.md's scenarios, one catalogue for both worlds: `flannel-sim list` and
/// `netns-lab scenario --list` print it. Shared scenarios have one body and the same
/// parameters everywhere; the rest name the one world that runs them.
extension Scenario {
    public static let catalogue: [Scenario] = [
        seedPing, restartKeepsSubnet, expiredLeaseComesBack, subnetTakenDrift, containerRedeploy, peerLeaves,
        reservation, allocationRace, etcdOutage, watchCompaction,
        badInput,
        vxlanSeedPing, hostGWSeedPing, wireguardSeedPing,
        Scenario(id: "S13", name: "scale",
                 summary: "1,000 and 10,000 hosts join 10.0.0.0/8 and churn for 24 simulated hours: convergence, no duplicates, etcd requests per host per hour, wall time",
                 body: .only(.simulator, how: "flannel-sim bench --hosts 1000,10000")),
        Scenario(id: "S14", name: "seed-walkthrough",
                 summary: "the walkthrough verbatim: etcd with TLS, a user and role, the v2 API, /etc/sysconfig/flanneld; a user without the role is refused",
                 body: .only(.lab, how: "netns-lab demo --walkthrough")),
        partition,
        Scenario(id: "S16", name: "rolling-migration",
                 summary: "a cluster on upstream flannel (0.7.0 on etcd v2, 0.20.2 on v3) moved to ours one host at a time while containers ping, then one host moved back: no subnet changes, one lease per host, the longest ping gap per swap",
                 body: .only(.lab, how: "needs upstream's binary: netns-lab migrate --upstream PATH; RollingMigrationLabTests")),
        hostileWriter,
        etcdLeaderKilled, etcdLeaderIsolated, etcdV2LeaderKilled, etcdQuorumLost, etcdMemberReplacement,
        dualStackVXLAN, dualStackHostGW,
        Scenario(id: "chaos", name: "chaos",
                 summary: "random faults (loss, partitions, etcd outages, crashes, pauses, compaction) over random clusters of any backend, judged by the invariants",
                 body: .only(.simulator, how: "flannel-sim chaos --seeds 1..200")),
        Scenario(id: "chaos", name: "chaos-dual-stack",
                 summary: "the same chaos on dual-stack networks (vxlan, host-gw with EnableIPv6): both families' kernel entries and pings judged",
                 body: .only(.simulator, how: "flannel-sim chaos --dual-stack --seeds 1..200")),
    ]

    /// Leases of 5 s: expiry within a scenario's minute, in both worlds.
    public static let shortTTL = Duration.seconds(5)
}
