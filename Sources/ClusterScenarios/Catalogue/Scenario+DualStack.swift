import AgentCore

/// S21: S1/S12 on a dual-stack network (`EnableIPv6`, `IPv6Network`): each lease carries a
/// subnet of each family, subnet.env names both, the kernel entries of each family are
/// COMPAT.md's, containers ping over both families both ways, and a restart keeps both.
extension Scenario {
    public static let dualStackVXLAN = Scenario(
        id: "S21", name: "dual-stack-vxlan",
        summary: "2 hosts, vxlan, EnableIPv6: leases carry both subnets, PublicIPv6 and BackendV6Data; flannel-v6.1 gets per peer a neighbour, a forwarding entry to its IPv6 address and an onlink route; ping and ping -6 both ways ttl=62; flannel-v6.1 deleted by hand comes back with its MAC; a restart keeps both subnets"
    ) { run in
        try dualStack(run, backend: "vxlan")
    }

    public static let dualStackHostGW = Scenario(
        id: "S21", name: "dual-stack-host-gw",
        summary: "2 hosts, host-gw, EnableIPv6: an IPv6 route per peer via its PublicIPv6 on eth0; ping and ping -6 both ways ttl=62; a restart keeps both subnets"
    ) { run in
        try dualStack(run, backend: "host-gw")
    }

    static let dualStackNetwork = IPv6Network("fd00:10:1::/48")!

    private static func dualStack(_ run: ScenarioRun, backend: String) throws {
        let harness = run.harness
        let config = #"{ "Network": "10.1.0.0/16", "EnableIPv6": true, "IPv6Network": "\#(dualStackNetwork)", "Backend": { "Type": "\#(backend)" } }"#
        let (hosts, containers) = try run.cluster(hosts: 2, config: config, ttl: shortTTL)
        var files: [SubnetFile] = []
        var macs: [MACAddress?] = []
        for host in hosts {
            let file = try run.waitForSubnetFile(host)
            files.append(file)
            run.expect(file.ipv6Network == dualStackNetwork && file.ipv6Subnet.map { $0.prefixLength == 64 && dualStackNetwork.contains($0) } == true,
                       "\(host)'s subnet.env names \(dualStackNetwork) and a /64 in it: \(file.ipv6Subnet.map { "\($0)" } ?? "none")")
            let lease = try run.lease(run.ipv4Subnet(of: file, host))?.attributes
            run.expect(lease?.publicIPv6 != nil && lease?.publicIPv6 == host.publicIPv6, "\(host)'s lease names its IPv6 address \(host.publicIPv6.map { "\($0)" } ?? "none")")
            if backend == "vxlan" {
                let mac = try harness.deviceMAC("flannel-v6.1", on: host)
                macs.append(mac)
                run.expect(mac != nil && lease?.backendV6Data?.member("VtepMAC")?.stringValue == mac?.description,
                           "\(host)'s lease carries flannel-v6.1's MAC \(mac.map { "\($0)" } ?? "none") in BackendV6Data")
            } else {
                let device = try harness.deviceMAC("flannel-v6.1", on: host)
                run.expect(lease?.backendV6Data == nil && device == nil, "\(host): no IPv6 device, no BackendV6Data")
            }
        }
        guard let peerSubnet = files[1].ipv6Subnet, let peerAddress = hosts[1].publicIPv6 else {
            run.expect(false, "h2 has an IPv6 subnet and address")
            return
        }
        let expected: [String]
        if let mac = macs.last ?? nil, backend == "vxlan" {
            expected = ["fdb \(mac) dst \(peerAddress) dev flannel-v6.1", "neighbour \(peerSubnet.address) lladdr \(mac) dev flannel-v6.1",
                        "route \(peerSubnet) via \(peerSubnet.address) dev flannel-v6.1 onlink"]
        } else {
            expected = ["route \(peerSubnet) via \(peerAddress) dev eth0"]
        }
        func entries() throws -> [String] { try harness.kernelEntries(on: hosts[0], ipv6Network: dualStackNetwork) }
        try harness.waitUntil("h1's IPv6 entries for h2", timeout: .seconds(15)) { try entries() == expected }
        run.expect(true, "h1's IPv6 kernel entries for h2 are exactly COMPAT.md's")
        try expectBothFamilies(run, containers[0], containers[1])
        try expectBothFamilies(run, containers[1], containers[0])

        if backend == "vxlan" {
            try harness.deleteDevice("flannel-v6.1", on: hosts[0])
            try harness.waitUntil("h1 to re-create flannel-v6.1 with its entries", timeout: .seconds(25)) {
                try harness.deviceMAC("flannel-v6.1", on: hosts[0]) == macs[0] && entries() == expected
            }
            run.expect(true, "h1 re-creates flannel-v6.1 with the MAC in its lease, and its IPv6 entries, within a resync")
            try expectBothFamilies(run, containers[1], containers[0])
        }

        try harness.stopAgent(on: hosts[0])
        try run.startAgent(hosts[0], ttl: shortTTL)
        try harness.waitUntil("h1's restarted agent to know h2", timeout: .seconds(30)) { try harness.knowsPeer(run.ipv4Subnet(of: files[1], hosts[1]), on: hosts[0]) }
        run.expect(try harness.subnetFile(of: hosts[0]) == files[0], "h1 keeps \(files[0].subnet.map { "\($0)" } ?? "?") and \(files[0].ipv6Subnet.map { "\($0)" } ?? "?") after a restart")
        try harness.waitUntil("h1's IPv6 entries after its restart", timeout: .seconds(15)) { try entries() == expected }
        try expectBothFamilies(run, containers[0], containers[1])
    }

    /// ping and ping -6 from `from` to `to`, both answered with ttl 62 (two forwarding hops).
    private static func expectBothFamilies(_ run: ScenarioRun, _ from: ClusterContainer, _ to: ClusterContainer) throws {
        try run.expectPing(from, to, ttl: 62)
        guard let address = to.ipv6 else {
            run.expect(false, "\(to) has an IPv6 address")
            return
        }
        // The first echo may wait on neighbour discovery at both hosts (a CI run once saw it
        // unanswered within 2 s): wait for the path, as the IPv4 scenarios' waitForPing does,
        // then judge the answer.
        var result = PingResult.noAnswer
        try? run.harness.waitUntil("\(from) → \(to) over IPv6 to be answered", timeout: .seconds(10)) {
            result = try run.harness.ping(from: from, to: address, wait: .seconds(1))
            return result.isReply
        }
        run.expect(result == .reply(ttl: 62), "\(from) → \(to) over IPv6 (\(address)): \(result) (expected ttl=62)")
    }
}
