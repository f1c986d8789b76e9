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

extension Scenario {
    /// S20: S1 with the wireguard backend (wireguard-go where the kernel has no WireGuard).
    public static let wireguardSeedPing = Scenario(
        id: "S20", name: "wireguard-seed-ping",
        summary: "3 hosts, wireguard backend: leases carry each host's PublicKey, MTU 1420, each device lists the others (key, PublicIP:51820, subnet); pings ttl=62; the underlay carries only UDP 51820; a peer leaving is removed; flannel-wg deleted by hand comes back with the same key; a restart keeps the key and traffic never stops") { run in
        let harness = run.harness
        let (hosts, containers) = try run.cluster(
            hosts: 3, config: #"{ "Network": "10.1.0.0/16", "Backend": { "Type": "wireguard" } }"#, ttl: shortTTL)
        let subnets = try hosts.map { try run.waitForSubnet($0) }
        var keys: [String] = []
        for (host, subnet) in zip(hosts, subnets) {
            let lease = try run.lease(subnet)?.attributes
            run.expect(try harness.subnetFile(of: host)?.mtu == 1420, "\(host): subnet.env MTU 1420 (1500 − 80)")
            let key = try harness.wireGuardDevice(on: host)?.publicKey ?? "none"
            keys.append(key)
            run.expect(lease?.backendType == "wireguard" && lease?.backendData?.member("PublicKey")?.stringValue == key,
                       "\(host)'s lease says wireguard and carries its flannel-wg's public key \(key)")
        }
        func expected(_ peers: [Int]) -> [String] {
            peers.map { "\(keys[$0]) \(hosts[$0].publicIP):51820 \(subnets[$0])" }.sorted()
        }
        func peers() throws -> [String] { try harness.wireGuardDevice(on: hosts[0])?.peers ?? [] }
        try harness.waitUntil("h1's peers h2 and h3", timeout: .seconds(15)) { try peers() == expected([1, 2]) }
        run.expect(true, "h1's flannel-wg has exactly h2 and h3: their keys, PublicIP:51820, subnets")
        try run.expectPing(containers[0], containers[1], ttl: 62)
        try run.expectPing(containers[1], containers[0], ttl: 62)
        try run.expect(needs: .underlayCapture, {
            let underlay = try harness.underlayCapture().filter { $0.contains(" eth0 ") && $0.contains(" > ") }
            return underlay.contains { $0.hasSuffix("\(hosts[0].publicIP).51820 > \(hosts[1].publicIP).51820: UDP, length 128") }
                && underlay.allSatisfy { $0.contains(".51820 > ") && $0.contains(".51820: UDP") }
        }, "the underlay carries UDP 51820 only (a ping: 84 bytes padded to 96, sealed into 128)")

        try harness.stopAgent(on: hosts[2])
        try harness.waitUntil("h1 to remove h3's peer", timeout: .seconds(35)) { try peers() == expected([1]) }
        run.expect(true, "h1 removes h3's peer once its lease expires")

        try harness.deleteDevice("flannel-wg", on: hosts[0])
        try harness.waitUntil("h1 to make flannel-wg again", timeout: .seconds(25)) {
            try harness.wireGuardDevice(on: hosts[0])?.publicKey == keys[0] && peers() == expected([1])
        }
        run.expect(true, "h1 makes flannel-wg again with the key in its lease, and its peer, within a resync")
        try run.waitForPing(containers[0], containers[1], timeout: .seconds(15))
        try run.expectPing(containers[1], containers[0], ttl: 62)

        try harness.stopAgent(on: hosts[0])
        try run.expectPing(containers[1], containers[0], ttl: 62)
        run.expect(true, "traffic flows while h1's agent is down")
        try run.startAgent(hosts[0], ttl: shortTTL)
        try harness.waitUntil("h1's restarted agent to know h2", timeout: .seconds(30)) { try harness.knowsPeer(subnets[1], on: hosts[0]) }
        let lease = try run.lease(subnets[0])?.attributes
        run.expect(try harness.wireGuardDevice(on: hosts[0])?.publicKey == keys[0] && lease?.backendData?.member("PublicKey")?.stringValue == keys[0],
                   "h1 keeps its public key across the restart, in the device and the lease")
        try harness.waitUntil("h1's peers after its restart", timeout: .seconds(15)) { try peers() == expected([1]) }
        try run.expectPing(containers[0], containers[1], ttl: 62)
    }
}
