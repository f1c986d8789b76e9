import AgentCore

/// S12: S1 for the kernel backends. Leases, MTUs and the kernel entries COMPAT.md lists,
/// pings with ttl=62 (the kernel forwards on both hosts), a peer leaving, a restart that
/// keeps the subnet and (vxlan) the VtepMAC, and (vxlan) a device deleted by hand.
extension Scenario {
    public static let vxlanSeedPing = Scenario(
        id: "S12", name: "vxlan-seed-ping",
        summary: "3 hosts, vxlan backend: leases carry VNI and VtepMAC, MTU 1450, per peer a neighbour, a forwarding entry and an onlink route; pings ttl=62; a peer leaving takes its entries; flannel.1 deleted by hand comes back with its MAC; a restart keeps the MAC"
    ) { run in
        try kernelBackendSeedPing(run, backend: "vxlan", mtu: 1450)
    }

    public static let hostGWSeedPing = Scenario(
        id: "S12", name: "host-gw-seed-ping",
        summary: "3 hosts, host-gw backend: leases say host-gw, MTU 1500, a route per peer via its PublicIP on eth0; pings ttl=62; a peer leaving takes its route; a restart keeps the subnet"
    ) { run in
        try kernelBackendSeedPing(run, backend: "host-gw", mtu: 1500)
    }

    private static func kernelBackendSeedPing(_ run: ScenarioRun, backend: String, mtu: Int) throws {
        let harness = run.harness
        let network = IPv4Network("10.1.0.0/16")!
        let device = backend == "vxlan" ? "flannel.1" : nil
        let (hosts, containers) = try run.cluster(
            hosts: 3, config: #"{ "Network": "10.1.0.0/16", "Backend": { "Type": "\#(backend)" } }"#, ttl: shortTTL)
        let subnets = try hosts.map { try run.waitForSubnet($0) }
        var macs: [MACAddress?] = []
        for (host, subnet) in zip(hosts, subnets) {
            let lease = try run.lease(subnet)?.attributes
            let file = try harness.subnetFile(of: host)
            run.expect(file?.mtu == mtu, "\(host): subnet.env MTU \(mtu)")
            run.expect(lease?.backendType == backend, "\(host)'s lease says \(backend): \(lease?.encoded ?? "none")")
            if let device {
                let mac = try harness.deviceMAC(device, on: host)
                macs.append(mac)
                run.expect(mac != nil && lease?.backendData?.member("VtepMAC")?.stringValue == mac?.description
                           && lease?.backendData?.member("VNI")?.integerValue == 1,
                           "\(host)'s lease carries VNI 1 and its \(device)'s MAC \(mac.map { "\($0)" } ?? "none")")
            } else {
                let device = try harness.deviceMAC("flannel.1", on: host)
                run.expect(lease?.backendData == nil && device == nil, "\(host): no device, no BackendData")
            }
        }
        // What h1 must have for `peers` (indices), exactly as COMPAT.md lists it.
        func expected(_ peers: [Int]) -> [String] {
            peers.flatMap { index -> [String] in
                let subnet = subnets[index]
                guard let device, let mac = macs[index] else { return ["route \(subnet) via \(hosts[index].publicIP) dev eth0"] }
                return ["neighbour \(subnet.address) lladdr \(mac) dev \(device)", "fdb \(mac) dst \(hosts[index].publicIP) dev \(device)",
                        "route \(subnet) via \(subnet.address) dev \(device) onlink"]
            }.sorted()
        }
        func entries() throws -> [String] { try harness.kernelEntries(on: hosts[0], network: network) }
        try harness.waitUntil("h1's entries for h2 and h3", timeout: .seconds(15)) { try entries() == expected([1, 2]) }
        run.expect(true, "h1's kernel entries for h2 and h3 are exactly COMPAT.md's")
        try run.expectPing(containers[0], containers[1], ttl: 62)
        try run.expectPing(containers[1], containers[0], ttl: 62)

        try harness.stopAgent(on: hosts[2])
        try harness.waitUntil("h1 to drop h3's entries", timeout: .seconds(35)) { try entries() == expected([1]) }
        run.expect(true, "h1 drops h3's entries once its lease expires")
        try run.expectPing(containers[0], containers[1], ttl: 62)

        if let device {
            try harness.deleteDevice(device, on: hosts[0])
            run.expect(try !run.ping(containers[1], containers[0], wait: .seconds(1)).isReply, "h2c1 → h1c1 fails while \(device) is gone")
            try harness.waitUntil("h1 to re-create \(device) with its entries", timeout: .seconds(25)) {
                try harness.deviceMAC(device, on: hosts[0]) == macs[0] && entries() == expected([1])
            }
            run.expect(true, "h1 re-creates \(device) with the MAC in its lease, and its entries, within a resync")
            try run.expectPing(containers[1], containers[0], ttl: 62)
        }

        try harness.stopAgent(on: hosts[0])
        try run.expectPing(containers[1], containers[0], ttl: 62)
        try run.startAgent(hosts[0], ttl: shortTTL)
        try harness.waitUntil("h1's restarted agent to know h2", timeout: .seconds(30)) { try harness.knowsPeer(subnets[1], on: hosts[0]) }
        run.expect(try harness.subnetFile(of: hosts[0])?.subnet == subnets[0], "h1 keeps \(subnets[0]) after a restart")
        if let device {
            let lease = try run.lease(subnets[0])?.attributes
            run.expect(try harness.deviceMAC(device, on: hosts[0]) == macs[0] && lease?.backendData?.member("VtepMAC")?.stringValue == macs[0]?.description,
                       "h1 keeps its VtepMAC across the restart, in the device and the lease")
        }
        try harness.waitUntil("h1's entries after its restart", timeout: .seconds(15)) { try entries() == expected([1]) }
        run.expect(true, "h1's entries right after its restart: exactly h2's")
        try run.expectPing(containers[0], containers[1], ttl: 62)
    }
}
