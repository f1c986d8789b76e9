import Agent
import Foundation
import NetnsLab
import Testing

/// Dual-stack (`EnableIPv6`) on real hosts: an IPv6 underlay (2001:db8::/64) beside the IPv4
/// one, containers with both families, real agents; the kernel objects as COMPAT.md lists
/// them, pings of both families both ways, iperf3 over IPv6, a restart keeping both subnets,
/// and a mixed cluster with upstream 0.20.2.
@Suite("Dual-stack (lab)", .serialized, .enabled(if: LabGate.shouldRun))
struct DualStackLabTests {
    /// Upstream's binaries: `FLANNEL_UPSTREAM_DIR`, else `shared/upstream` beside the repository.
    static let upstream = (ProcessInfo.processInfo.environment["FLANNEL_UPSTREAM_DIR"]
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/upstream").path) + "/flanneld-0.20.2"

    struct Pair {
        let lab: Lab
        let hosts: [LabHost]
        let files: [SubnetFile]
        let containers: [(namespace: Namespace, address: IPv4Address, ipv6: IPv6Address)]
    }

    /// Two dual-stack hosts with one container each, the agents started in host order, each
    /// once the previous one has its lease: upstream 0.20.2 lists the leases when it starts but
    /// can miss one created while it opens its watch (COMPAT.md), so it never starts first.
    /// `upstreamOn`: the hosts running upstream 0.20.2 instead of ours.
    static func pair(backend: String, upstreamOn hostIndexes: Set<Int> = [], ours extra: [String] = [], config: String? = nil) throws -> Pair {
        let lab = try Lab(ipv6: true)
        do {
            try lab.etcdctl(["put", "/coreos.com/network/config", config ?? LabBringUp.dualStackConfig(backend: backend)])
            let hosts = try (1...2).map { try lab.addHost($0) }
            var files: [SubnetFile] = []
            for host in hosts {
                if hostIndexes.contains(host.index) {
                    // Upstream finds eth0's IPv6 address itself (-public-ipv6 only overrides it).
                    try host.startAgent(binary: upstream, arguments: ["-iface=eth0"])
                } else {
                    try host.startAgent(binary: SeedPingTests.flanneld, arguments: extra)
                }
                files.append(try host.waitForSubnetFile())
            }
            let containers = try hosts.map { host in
                let container = try host.addContainer()
                return (container.namespace, container.address, try #require(host.ipv6Address(of: container.namespace)))
            }
            return Pair(lab: lab, hosts: hosts, files: files, containers: containers)
        } catch {
            lab.destroy()
            throw error
        }
    }

    /// Pings of both families from container `from` to container `to`; ttl 62 (two forwarding hops).
    static func pingBothFamilies(_ pair: Pair, from: Int, to: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (source, target) = (pair.containers[from], pair.containers[to])
        // The first packets may meet a peer whose entries are still being made: poll, then assert.
        try Poll.until("\(source.namespace) to reach \(target.ipv6)", timeout: .seconds(15)) {
            try source.namespace.run(["ping", "-6", "-c", "1", "-W", "1", target.ipv6.description]).succeeded
        }
        let ipv6 = try source.namespace.run(["ping", "-6", "-c", "3", "-W", "2", target.ipv6.description])
        #expect(ipv6.succeeded && ipv6.stdout.contains("ttl=62"), "\(ipv6.stdout)\(ipv6.stderr)", sourceLocation: sourceLocation)
        let ipv4 = try source.namespace.run(["ping", "-c", "3", "-W", "2", target.address.description])
        #expect(ipv4.succeeded && ipv4.stdout.contains("ttl=62"), "\(ipv4.stdout)\(ipv4.stderr)", sourceLocation: sourceLocation)
    }

    static func leaseKey(_ file: SubnetFile) -> String {
        "/coreos.com/network/subnets/\(SubnetKey(file.ipv4, ipv6: file.ipv6Subnet))"
    }

    static func lease(_ lab: Lab, _ file: SubnetFile) throws -> LeaseAttributes {
        let value = try lab.etcdctl(["get", leaseKey(file), "--print-value-only"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return try LeaseAttributes.decode(value)
    }

    @Test func vxlanCarriesBothFamiliesAndARestartKeepsBothSubnets() throws {
        guard LabGate.requireRoot() else { return }
        let pair = try Self.pair(backend: "vxlan", ours: ["--ip-masq"])
        defer { pair.lab.destroy() }
        let (hosts, files) = (pair.hosts, pair.files)
        for file in files {
            #expect(file.ipv6Network == IPv6Network("fd00:10:1::/48"))
            #expect(file.ipv6Subnet?.prefixLength == 64 && file.mtu == 1450)
        }

        // Each lease: PublicIPv6 and BackendV6Data naming flannel-v6.1's MAC; the device as COMPAT.md says.
        var ipv6MACs: [String] = []
        for (host, file) in zip(hosts, files) {
            let lease = try Self.lease(pair.lab, file)
            #expect(lease.publicIPv6 == Lab.ipv6Address(ofHost: host.index))
            let view = KernelView(namespace: host.namespace)
            let link = try #require(try view.link("flannel-v6.1"))
            let mac = try #require(link["address"] as? String)
            #expect(lease.backendV6Data?.member("VtepMAC")?.stringValue == mac)
            #expect(lease.backendV6Data?.member("VNI")?.integerValue == 1)
            ipv6MACs.append(mac)
            let info = (link["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any]
            // iproute2 names an IPv6 local endpoint "local6".
            #expect(info?["local6"] as? String == "\(Lab.ipv6Address(ofHost: host.index))" && info?["port"] as? Int == 8472, "\(info ?? [:])")
            #expect(info?["learning"] as? Bool == false && link["mtu"] as? Int == 1430)
            let addresses = try view.json(["ip", "-j", "-6", "addr", "show", "dev", "flannel-v6.1", "scope", "global"])
            let local = (addresses.first?["addr_info"] as? [[String: Any]])?.compactMap { info in
                (info["local"] as? String).map { "\($0)/\(info["prefixlen"] ?? "")" }
            }
            #expect(local == ["\(file.ipv6Subnet!.address)/128"])
        }

        // h1's entries for h2's IPv6 half: neighbour, forwarding entry to h2's IPv6 address, onlink route.
        let peer = files[1].ipv6Subnet!
        let view = KernelView(namespace: hosts[0].namespace)
        try Poll.until("h1 to program h2's IPv6 half", timeout: .seconds(15)) {
            try view.ipv6Routes(into: "fd00:10:1:").filter { !$0.contains("docker0") } == ["\(peer) via \(peer.address) dev flannel-v6.1 onlink"]
        }
        #expect(try view.neighbours("flannel-v6.1") == ["\(peer.address) \(ipv6MACs[1]) PERMANENT"])
        #expect(try view.forwardingEntries("flannel-v6.1") == ["\(ipv6MACs[1]) dst \(Lab.ipv6Address(ofHost: 2)) self permanent"])

        try Self.pingBothFamilies(pair, from: 0, to: 1)
        try Self.pingBothFamilies(pair, from: 1, to: 0)

        // iperf3 over IPv6, container to container.
        let server = BackgroundProcess(command: pair.containers[1].namespace.command(["iperf3", "-s", "-1", "--forceflush"]),
                                       logFile: pair.lab.directory.appendingPathComponent("iperf3-ipv6.log"))
        try server.start()
        defer { server.stop() }
        try Poll.until("iperf3 to listen", timeout: .seconds(10)) { server.log.contains("listening") }
        let run = try pair.containers[0].namespace.run(["timeout", "30", "iperf3", "-6", "-c", pair.containers[1].ipv6.description, "-t", "2", "-J"])
        let rate = try BenchProbes.iperf(json: run.stdout).bitsPerSecond
        #expect(rate > 0, "\(run.stdout.suffix(400))")

        // --ip-masq: the IPv6 rules in ip6tables, the IPv4 ones in iptables.
        let ip6 = try hosts[0].namespace.check(["ip6tables-save", "-t", "nat"]).stdout
        #expect(ip6.contains("-A FLANNEL-POSTRTG -s \(files[0].ipv6Network!) ! -d ff00::/8 -m comment --comment \"flanneld masq\" -j MASQUERADE"), "\(ip6)")
        #expect(ip6.contains("-A FLANNEL-POSTRTG ! -s \(files[0].ipv6Network!) -d \(files[0].ipv6Subnet!) -m comment --comment \"flanneld masq\" -j RETURN"))
        #expect(try hosts[0].namespace.check(["iptables-save", "-t", "nat"]).stdout.contains("-s 10.1.0.0/16 ! -d 224.0.0.0/4"))

        // flannel-v6.1 deleted by hand: back within a resync with the same MAC.
        try hosts[0].namespace.ip(["link", "del", "flannel-v6.1"])
        try Poll.until("h1 to re-create flannel-v6.1", timeout: .seconds(25)) {
            try view.link("flannel-v6.1")?["address"] as? String == ipv6MACs[0]
                && view.neighbours("flannel-v6.1") == ["\(peer.address) \(ipv6MACs[1]) PERMANENT"]
        }

        // Restart: the same subnets of both families, the same IPv6 VtepMAC, subnet.env unchanged.
        hosts[0].stopAgent()
        try hosts[0].startAgent(binary: SeedPingTests.flanneld, arguments: ["--ip-masq"])
        try Poll.until("h1's agent to be ready again", timeout: .seconds(15)) {
            (hosts[0].agent?.log.components(separatedBy: "] ready").count ?? 0) - 1 >= 2
        }
        let again = try hosts[0].waitForSubnetFile()
        #expect(again == files[0])
        #expect(try Self.lease(pair.lab, files[0]).backendV6Data?.member("VtepMAC")?.stringValue == ipv6MACs[0])
        try Self.pingBothFamilies(pair, from: 1, to: 0)
    }

    @Test func hostGWRoutesTheIPv6HalfViaThePeersIPv6Address() throws {
        guard LabGate.requireRoot() else { return }
        let pair = try Self.pair(backend: "host-gw")
        defer { pair.lab.destroy() }
        let peer = try #require(pair.files[1].ipv6Subnet)
        let view = KernelView(namespace: pair.hosts[0].namespace)
        try Poll.until("h1 to route h2's IPv6 subnet", timeout: .seconds(15)) {
            try view.ipv6Routes(into: "fd00:10:1:").filter { !$0.contains("docker0") } == ["\(peer) via \(Lab.ipv6Address(ofHost: 2)) dev eth0"]
        }
        let ours = try Self.lease(pair.lab, pair.files[0]).encoded
        #expect(ours.hasSuffix(#""PublicIPv6":"2001:db8::11","BackendType":"host-gw"}"#), "\(ours)")
        try Self.pingBothFamilies(pair, from: 0, to: 1)
        try Self.pingBothFamilies(pair, from: 1, to: 0)
    }

    /// Upstream 0.20.2 on h2, ours on h1: each programs the other's lease of both families.
    @Test(arguments: ["vxlan", "host-gw"])
    func aMixedClusterWithUpstream0202CarriesBothFamiliesBothWays(backend: String) throws {
        guard LabGate.requireRoot() else { return }
        guard FileManager.default.isExecutableFile(atPath: Self.upstream) else {
            if LabGate.isCI { Issue.record("\(Self.upstream) is missing; set FLANNEL_UPSTREAM_DIR to the folder holding flanneld-0.20.2") }
            return
        }
        let pair = try Self.pair(backend: backend, upstreamOn: [2])
        defer { pair.lab.destroy() }
        // Upstream's subnet.env names both halves the way ours does.
        #expect(pair.files[1].ipv6Network == pair.files[0].ipv6Network && pair.files[1].ipv6Subnet != nil)
        #expect(pair.files[1].mtu == pair.files[0].mtu)
        // Upstream's lease reads as ours writes it.
        let theirs = try Self.lease(pair.lab, pair.files[1])
        #expect(theirs.publicIPv6 == Lab.ipv6Address(ofHost: 2) && theirs.effectiveBackendType == backend)
        try Self.pingBothFamilies(pair, from: 0, to: 1)
        try Self.pingBothFamilies(pair, from: 1, to: 0)
    }
}
