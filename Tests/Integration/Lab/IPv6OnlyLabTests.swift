import Agent
import Foundation
import NetnsLab
import Testing

/// IPv6-only (`EnableIPv4: false`) on IPv6-only hosts: eth0 has no IPv4 address, the agents
/// reach etcd at [2001:db8::2] and find eth0 by its IPv6 default route; leases in upstream's
/// key form with PublicIP 0.0.0.0; only the IPv6 device; pings across; a restart keeping the
/// subnet.
@Suite("IPv6-only (lab)", .serialized, .enabled(if: LabGate.shouldRun))
struct IPv6OnlyLabTests {
    struct Pair {
        let lab: Lab
        let hosts: [LabHost]
        let files: [SubnetFile]
        let containers: [(namespace: Namespace, address: IPv6Address)]
    }

    static func pair(backend: String) throws -> Pair {
        let lab = try Lab(ipv6Only: true)
        do {
            try lab.etcdctl(["put", "/coreos.com/network/config", LabBringUp.ipv6OnlyConfig(backend: backend)])
            let hosts = try (1...2).map { try lab.addHost($0) }
            for host in hosts { try host.startAgent(binary: SeedPingTests.flanneld, arguments: ["--ip-masq"]) }
            let files = try hosts.map { try $0.waitForSubnetFile() }
            let containers = try hosts.map { try $0.addIPv6Container() }
            return Pair(lab: lab, hosts: hosts, files: files, containers: containers)
        } catch {
            lab.destroy()
            throw error
        }
    }

    /// ping -6 from container `from` to container `to`; hop limit 62 (two forwarding hops).
    static func ping(_ pair: Pair, from: Int, to: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (source, target) = (pair.containers[from], pair.containers[to])
        // The first packets may meet a peer whose entries are still being made: poll, then assert.
        try Poll.until("\(source.namespace) to reach \(target.address)", timeout: .seconds(15)) {
            try source.namespace.run(["ping", "-6", "-c", "1", "-W", "1", target.address.description]).succeeded
        }
        let ping = try source.namespace.run(["ping", "-6", "-c", "3", "-W", "2", target.address.description])
        #expect(ping.succeeded && ping.stdout.contains("ttl=62"), "\(ping.stdout)\(ping.stderr)", sourceLocation: sourceLocation)
    }

    /// The etcd key of a host's lease: upstream's `0.0.0.0-0&<subnet>` form.
    static func leaseKey(_ file: SubnetFile) throws -> String {
        "/coreos.com/network/subnets/\(SubnetKey(ipv6Only: try #require(file.ipv6Subnet)))"
    }

    @Test func vxlanOnIPv6OnlyHostsMakesOnlyTheIPv6DeviceAndARestartKeepsTheSubnet() throws {
        guard LabGate.requireRoot() else { return }
        let pair = try Self.pair(backend: "vxlan")
        defer { pair.lab.destroy() }
        let (lab, hosts, files) = (pair.lab, pair.hosts, pair.files)
        for (host, file) in zip(hosts, files) {
            let view = KernelView(namespace: host.namespace)
            #expect(try host.namespace.run(["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).stdout.isEmpty, "\(host) has no IPv4 address")
            // subnet.env as upstream writes it for an IPv6-only network; flannel-v6.1's MTU.
            #expect(file.network == nil && file.subnet == nil)
            #expect(file.ipv6Network == IPv6Network("fd00:10:1::/48") && file.ipv6Subnet?.prefixLength == 64 && file.mtu == 1430)
            let value = try lab.etcdctl(["get", try Self.leaseKey(file), "--print-value-only"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let lease = try LeaseAttributes.decode(value)
            #expect(lease.publicIP == .any && lease.publicIPv6 == Lab.ipv6Address(ofHost: host.index) && lease.backendData == nil, "\(value)")
            let link = try #require(try view.link("flannel-v6.1"))
            #expect(lease.backendV6Data?.member("VtepMAC")?.stringValue == link["address"] as? String)
            #expect(try view.link("flannel.1") == nil, "no IPv4 device on an IPv6-only network")
        }
        try Self.ping(pair, from: 0, to: 1)
        try Self.ping(pair, from: 1, to: 0)

        // --ip-masq: the rules in ip6tables, none in iptables.
        let ip6 = try hosts[0].namespace.check(["ip6tables-save", "-t", "nat"]).stdout
        #expect(ip6.contains("-A FLANNEL-POSTRTG -s fd00:10:1::/48 ! -d ff00::/8 -m comment --comment \"flanneld masq\" -j MASQUERADE"), "\(ip6)")
        #expect(!(try hosts[0].namespace.check(["iptables-save", "-t", "nat"]).stdout.contains("FLANNEL")))

        // A restart asks for the subnet.env's subnet again, and gets it.
        hosts[0].stopAgent()
        try hosts[0].startAgent(binary: SeedPingTests.flanneld, arguments: ["--ip-masq"])
        try Poll.until("h1's agent to be ready again", timeout: .seconds(15)) {
            (hosts[0].agent?.log.components(separatedBy: "] ready").count ?? 0) - 1 >= 2
        }
        #expect(try hosts[0].waitForSubnetFile() == files[0])
        let subnet = try #require(files[0].ipv6Subnet)
        #expect((hosts[0].agent?.log.components(separatedBy: "acquired lease \(subnet) ").count ?? 0) - 1 == 2, "both runs hold \(subnet)")
        try Self.ping(pair, from: 1, to: 0)
    }

    @Test func hostGWRoutesViaPublicIPv6() throws {
        guard LabGate.requireRoot() else { return }
        let pair = try Self.pair(backend: "host-gw")
        defer { pair.lab.destroy() }
        let peer = try #require(pair.files[1].ipv6Subnet)
        let view = KernelView(namespace: pair.hosts[0].namespace)
        try Poll.until("h1 to route h2's subnet", timeout: .seconds(15)) {
            try view.ipv6Routes(into: "fd00:10:1:").filter { !$0.contains("docker0") } == ["\(peer) via \(Lab.ipv6Address(ofHost: 2)) dev eth0"]
        }
        #expect(pair.files.allSatisfy { $0.mtu == 1500 })
        try Self.ping(pair, from: 0, to: 1)
        try Self.ping(pair, from: 1, to: 0)
    }
}
