import AgentCore

/// S1 and S5: the walkthrough's two hosts, a ping across, a container moving host.
extension Scenario {
    public static let seedPing = Scenario(
        id: "S1", name: "seed-ping",
        summary: "2 hosts, udp backend: leases with each host's PublicIP, subnet.env MTU 1472, pings both ways with ttl=60, UDP 8285 > 8285 of length 84"
    ) { run in
        let (hosts, containers) = try run.cluster(hosts: 2)
        let leases = try run.harness.leases()
        run.expect(leases.count == 2, "two leases in etcd, found \(leases.count)")
        for host in hosts {
            let file = try run.harness.subnetFile(of: host)
            let lease = leases.first { $0.subnet == file?.subnet }
            run.expect(lease?.publicIP == host.publicIP && lease?.hasTTL == true,
                       "\(host)'s lease \(file?.subnet.map { "\($0)" } ?? "none") names \(host.publicIP) and has a TTL")
            run.expect(file?.mtu == 1472, "\(host): subnet.env MTU 1472 (flannel0's)")
            run.expect(file?.network == IPv4Network("10.1.0.0/16"), "\(host): FLANNEL_NETWORK=10.1.0.0/16")
        }
        try run.expectPing(containers[0], containers[1])
        try run.expectPing(containers[1], containers[0])
        try run.expect(needs: .underlayCapture, {
            try run.harness.underlayCapture().contains { $0.hasSuffix("\(hosts[0].publicIP).8285 > \(hosts[1].publicIP).8285: UDP, length 84") }
        }, "the underlay carries UDP 8285 > 8285 of length 84")
    }

    public static let containerRedeploy = Scenario(
        id: "S5", name: "container-redeploy",
        summary: "a container deleted on host 1 and started on host 2 gets an address from host 2's subnet (the walkthrough's IP drift)"
    ) { run in
        let (hosts, containers) = try run.cluster(hosts: 2)
        let moving = try run.addContainer(on: hosts[0])
        try run.removeContainer(moving)
        let moved = try run.addContainer(on: hosts[1])
        run.note("container moved h1 → h2: \(moving.address) → \(moved.address)")
        let subnet = try run.harness.subnetFile(of: hosts[1])?.subnet
        run.expect(subnet?.contains(moved.address) == true && moved.address != moving.address,
                   "the redeployed container's address \(moved.address) is in h2's subnet")
        let result = try run.ping(containers[0], moved)
        run.expect(result == .reply(ttl: 60), "h1c1 reaches the container at its new address: \(result)")
    }
}
