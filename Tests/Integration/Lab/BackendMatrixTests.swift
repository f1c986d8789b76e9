import Agent
import Foundation
import NetnsLab
import Testing

/// Scenario S12 for the kernel backends (udp is S1 itself, in SeedPingTests): real agents on
/// lab hosts, the kernel objects checked with `ip -j`/`bridge -j` against COMPAT.md, pings
/// both ways, a peer leaving, a device deleted by hand, a restart, stale state at start-up,
/// and a vxlan peer configured by hand the way upstream flannel does it.
@Suite("S12 backend matrix (lab)", .serialized, .enabled(if: LabGate.shouldRun))
struct BackendMatrixTests {
    static let vxlanConfig = #"{ "Network": "10.1.0.0/16", "Backend": { "Type": "vxlan" } }"#
    static let hostGWConfig = #"{ "Network": "10.1.0.0/16", "Backend": { "Type": "host-gw" } }"#

    @Test func vxlanProgramsEachPeerRepairsItselfAndKeepsItsMAC() throws {
        guard LabGate.requireRoot() else { return }
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config", Self.vxlanConfig])
        let hosts = try (1...3).map { try lab.addHost($0) }
        // h3 has a flannel.1 of the wrong kind (another port, learning on): replaced, its MAC kept.
        let leftoverMAC = "02:aa:00:00:00:03"
        try hosts[2].namespace.ip(["link", "add", "flannel.1", "address", leftoverMAC, "type", "vxlan", "id", "1",
                                   "local", hosts[2].address.description, "dev", "eth0", "dstport", "4789"])
        for host in hosts { try host.startAgent(binary: SeedPingTests.flanneld) }
        let files = try hosts.map { try $0.waitForSubnetFile() }
        let views = hosts.map { KernelView(namespace: $0.namespace) }
        #expect(files.allSatisfy { $0.mtu == 1450 }, "vxlan MTU is 1500 − 50")
        #expect(try views[2].link("flannel.1")?["address"] as? String == leftoverMAC)
        #expect(hosts[2].agent?.log.contains("replacing flannel.1") == true && hosts[2].agent?.log.contains("dstport 4789 ≠ 8472") == true,
                "\(hosts[2].agent?.log ?? "")")

        // Each lease names the host's device MAC; the device is as COMPAT.md says.
        var macs: [String] = []
        for (host, file) in zip(hosts, files) {
            let lease = try Self.lease(lab, file.ipv4)
            #expect(lease.backendType == "vxlan")
            #expect(lease.backendData?.member("VNI")?.integerValue == 1)
            let link = try #require(try KernelView(namespace: host.namespace).link("flannel.1"))
            let mac = try #require(link["address"] as? String)
            #expect(lease.backendData?.member("VtepMAC")?.stringValue == mac)
            macs.append(mac)
            let info = (link["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any]
            #expect(info?["id"] as? Int == 1 && info?["local"] as? String == host.address.description)
            #expect(info?["port"] as? Int == 8472 && info?["link"] as? String == "eth0" && info?["learning"] as? Bool == false)
            #expect(link["mtu"] as? Int == 1450)
            let addresses = try KernelView(namespace: host.namespace).json(["ip", "-j", "-4", "addr", "show", "dev", "flannel.1"])
            let local = (addresses.first?["addr_info"] as? [[String: Any]])?.map { "\($0["local"] ?? "")/\($0["prefixlen"] ?? "")" }
            #expect(local == ["\(file.ipv4.address)/32"])
        }

        // h1's entries for h2 and h3: neighbour, forwarding entry, onlink route; nothing else.
        func expected(for peers: [Int]) -> (neighbours: [String], fdb: [String], routes: [String]) {
            (peers.map { "\(files[$0].ipv4.address) \(macs[$0]) PERMANENT" }.sorted(),
             peers.map { "\(macs[$0]) dst \(hosts[$0].address) self permanent" }.sorted(),
             peers.map { "\(files[$0].ipv4) via \(files[$0].ipv4.address) dev flannel.1 onlink" }.sorted())
        }
        func state(_ view: KernelView) throws -> (neighbours: [String], fdb: [String], routes: [String]) {
            (try view.neighbours("flannel.1"), try view.forwardingEntries("flannel.1"),
             try view.routes(into: "10.1.").filter { !$0.contains("docker0") })
        }
        // A udp lease written by hand: not programmed, and the log says why.
        try lab.etcdctl(["put", "/coreos.com/network/subnets/10.1.251.0-24", #"{"PublicIP":"192.0.2.99","PublicIPv6":null}"#])
        try Poll.until("h1 to program both peers", timeout: .seconds(15)) { try state(views[0]) == expected(for: [1, 2]) }
        try Poll.until("the ignored lease in the log", timeout: .seconds(5)) {
            hosts[0].agent?.log.contains("peer 10.1.251.0/24 ignored: its lease is for backend udp, this host runs vxlan") == true
        }
        try lab.etcdctl(["del", "/coreos.com/network/subnets/10.1.251.0-24"])

        // Containers ping both ways through the kernel: two forwarding hops, ttl 62.
        let c1 = try hosts[0].addContainer()
        let c2 = try hosts[1].addContainer()
        let capture = BackgroundProcess(
            command: hosts[0].namespace.command(["tcpdump", "-l", "-n", "-i", "eth0", "-c", "2", "udp", "dst", "port", "8472"]),
            logFile: lab.directory.appendingPathComponent("capture-vxlan.txt"))
        try capture.start()
        try Poll.until("tcpdump to listen", timeout: .seconds(5)) { capture.log.contains("listening on") }
        let forward = try c1.namespace.run(["ping", "-c", "3", "-W", "2", c2.address.description])
        #expect(forward.succeeded && forward.stdout.contains("ttl=62"), "\(forward.stdout)\(hosts[0].agent?.log ?? "")")
        let back = try c2.namespace.run(["ping", "-c", "3", "-W", "2", c1.address.description])
        #expect(back.succeeded && back.stdout.contains("ttl=62"), "\(back.stdout)")
        try Poll.until("the underlay capture", timeout: .seconds(5)) { !capture.isRunning }
        #expect(capture.log.contains("> \(hosts[1].address).8472:") && capture.log.contains("> \(hosts[0].address).8472:"), "\(capture.log)")

        // h3 leaves (its lease deleted, as expiry would): its three entries go from h1.
        hosts[2].stopAgent()
        try lab.etcdctl(["del", "/coreos.com/network/subnets/\(files[2].ipv4.address)-24"])
        try Poll.until("h1 to drop h3's entries", timeout: .seconds(10)) { try state(views[0]) == expected(for: [1]) }

        // flannel.1 deleted by hand: back within a resync, with the same MAC, and traffic flows.
        try hosts[0].namespace.ip(["link", "del", "flannel.1"])
        try Poll.until("h1 to re-create flannel.1", timeout: .seconds(25)) {
            try views[0].link("flannel.1")?["address"] as? String == macs[0] && state(views[0]) == expected(for: [1])
        }
        #expect(try c1.namespace.run(["ping", "-c", "1", "-W", "2", c2.address.description]).succeeded)

        // Restart: same device, same MAC, same lease value.
        hosts[0].stopAgent()
        try hosts[0].startAgent(binary: SeedPingTests.flanneld)
        // The log file is appended to: the second "ready" is the restarted agent's.
        try Poll.until("h1's agent to be ready again", timeout: .seconds(15)) {
            (hosts[0].agent?.log.components(separatedBy: "] ready").count ?? 0) - 1 >= 2
        }
        #expect(try Self.lease(lab, files[0].ipv4).backendData?.member("VtepMAC")?.stringValue == macs[0])
        #expect(try views[0].link("flannel.1")?["address"] as? String == macs[0])
        #expect(hosts[0].agent?.log.contains("reusing flannel.1") == true, "\(hosts[0].agent?.log ?? "")")

        // Stale entries left while the agent was down are removed when it starts.
        hosts[0].stopAgent()
        try hosts[0].namespace.ip(["neigh", "add", "10.1.250.0", "lladdr", "02:00:00:00:02:50", "dev", "flannel.1", "nud", "permanent"])
        try hosts[0].namespace.check(["bridge", "fdb", "append", "02:00:00:00:02:50", "dev", "flannel.1", "dst", "192.0.2.250", "self", "permanent"])
        try hosts[0].namespace.ip(["route", "add", "10.1.250.0/24", "via", "10.1.250.0", "dev", "flannel.1", "onlink"])
        #expect(try state(views[0]) != expected(for: [1]))
        try hosts[0].startAgent(binary: SeedPingTests.flanneld)
        // Within 5 s, before the first 10 s resync: the start-up pass itself removes them.
        try Poll.until("h1 to remove the stale entries", timeout: .seconds(5)) { try state(views[0]) == expected(for: [1]) }
        #expect(try c2.namespace.run(["ping", "-c", "1", "-W", "2", c1.address.description]).succeeded)
    }

    @Test func hostGWRoutesViaPublicIPsIgnoresOtherBackendsAndRefusesNAT() throws {
        guard LabGate.requireRoot() else { return }
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config", Self.hostGWConfig])
        let hosts = try (1...2).map { try lab.addHost($0) }
        for host in hosts { try host.startAgent(binary: SeedPingTests.flanneld) }
        let files = try hosts.map { try $0.waitForSubnetFile() }
        #expect(files.allSatisfy { $0.mtu == 1500 }, "host-gw MTU is the interface's")
        for file in files { #expect(try Self.lease(lab, file.ipv4).backendType == "host-gw") }
        let view = KernelView(namespace: hosts[0].namespace)
        let peerRoute = "\(files[1].ipv4) via \(hosts[1].address) dev eth0"

        // A udp lease written by hand: not ours to route, and the log says why.
        try lab.etcdctl(["put", "/coreos.com/network/subnets/10.1.251.0-24", #"{"PublicIP":"192.0.2.99","PublicIPv6":null}"#])
        try Poll.until("h1's route to h2", timeout: .seconds(10)) {
            try view.routes(into: "10.1.").filter { !$0.contains("docker0") } == [peerRoute]
        }
        try Poll.until("the ignored lease in the log", timeout: .seconds(5)) {
            hosts[0].agent?.log.contains("peer 10.1.251.0/24 ignored: its lease is for backend udp, this host runs host-gw") == true
        }
        #expect(try KernelView(namespace: hosts[0].namespace).link("flannel.1") == nil)

        let c1 = try hosts[0].addContainer()
        let c2 = try hosts[1].addContainer()
        // On the underlay the containers' own packets, routed, not encapsulated.
        let capture = BackgroundProcess(
            command: hosts[0].namespace.command(["tcpdump", "-l", "-n", "-i", "eth0", "-c", "2", "icmp"]),
            logFile: lab.directory.appendingPathComponent("capture-host-gw.txt"))
        try capture.start()
        try Poll.until("tcpdump to listen", timeout: .seconds(5)) { capture.log.contains("listening on") }
        let forward = try c1.namespace.run(["ping", "-c", "3", "-W", "2", c2.address.description])
        #expect(forward.succeeded && forward.stdout.contains("ttl=62"), "\(forward.stdout)")
        let back = try c2.namespace.run(["ping", "-c", "3", "-W", "2", c1.address.description])
        #expect(back.succeeded && back.stdout.contains("ttl=62"), "\(back.stdout)")
        try Poll.until("the underlay capture", timeout: .seconds(5)) { !capture.isRunning }
        #expect(capture.log.contains("IP \(c1.address) > \(c2.address): ICMP echo request"), "\(capture.log)")

        // A route deleted by hand is restored at the next resync; a peer leaving takes its route.
        try hosts[0].namespace.ip(["route", "del", files[1].ipv4.description])
        try Poll.until("h1 to restore the route", timeout: .seconds(25)) {
            try view.routes(into: "10.1.").filter { !$0.contains("docker0") } == [peerRoute]
        }
        hosts[1].stopAgent()
        try lab.etcdctl(["del", "/coreos.com/network/subnets/\(files[1].ipv4.address)-24"])
        try Poll.until("h1 to drop h2's route", timeout: .seconds(10)) {
            try view.routes(into: "10.1.").filter { !$0.contains("docker0") }.isEmpty
        }

        // Behind NAT (public IP not the interface's): host-gw cannot work; the agent says so.
        let natted = try lab.addHost(3)
        try natted.startAgent(binary: SeedPingTests.flanneld, arguments: ["--public-ip=198.51.100.7"])
        let agent = try #require(natted.agent)
        try Poll.until("the NAT host's agent to exit", timeout: .seconds(15)) { !agent.isRunning }
        #expect(agent.exitStatus == 1)
        #expect(agent.log.contains("host-gw backend: the public IP 198.51.100.7 is not eth0's address 192.0.2.13"), "\(agent.log.suffix(600))")
    }

    /// DirectRouting: peers on eth0's own network are routed straight to their PublicIP (no
    /// encapsulation, no neighbour or forwarding entries). Peers on other networks keep the
    /// vxlan entries (unit-tested in KernelPlanTests: the lab has one L2).
    @Test func vxlanDirectRoutingRoutesPeersOnTheSameL2ViaTheirPublicIP() throws {
        guard LabGate.requireRoot() else { return }
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config", #"{ "Network": "10.1.0.0/16", "Backend": { "Type": "vxlan", "DirectRouting": true } }"#])
        let hosts = try (1...2).map { try lab.addHost($0) }
        for host in hosts { try host.startAgent(binary: SeedPingTests.flanneld) }
        let files = try hosts.map { try $0.waitForSubnetFile() }
        let view = KernelView(namespace: hosts[0].namespace)
        try Poll.until("h1's direct route to h2", timeout: .seconds(10)) {
            try view.routes(into: "10.1.").filter { !$0.contains("docker0") } == ["\(files[1].ipv4) via \(hosts[1].address) dev eth0"]
        }
        #expect(try view.neighbours("flannel.1").isEmpty && view.forwardingEntries("flannel.1").isEmpty)
        #expect(hosts[0].agent?.log.contains("DirectRouting") == true)
        let c1 = try hosts[0].addContainer()
        let c2 = try hosts[1].addContainer()
        let forward = try c1.namespace.run(["ping", "-c", "2", "-W", "2", c2.address.description])
        #expect(forward.succeeded && forward.stdout.contains("ttl=62"), "\(forward.stdout)")
    }

    /// Upstream flannel's vxlan backend, done by hand with iproute2 from a lease written with
    /// etcdctl, exchanges pings with our agent: the wire format and the lease format match.
    @Test func aVXLANPeerConfiguredByHandTheUpstreamWayPingsOurAgent() throws {
        guard LabGate.requireRoot() else { return }
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config", Self.vxlanConfig])
        let ours = try lab.addHost(1)
        let upstream = try lab.addHost(2)
        try ours.startAgent(binary: SeedPingTests.flanneld)
        let ourFile = try ours.waitForSubnetFile()

        // The hand-made host: device, lease, subnet.env, docker0 and a container.
        let handMAC = "0e:5f:1a:00:00:02"
        // Any subnet but the one our agent drew at random (10.1.99.0/24 about once in 255 runs).
        let handSubnet = ourFile.ipv4 == IPv4Network("10.1.99.0/24")! ? IPv4Network("10.1.98.0/24")! : IPv4Network("10.1.99.0/24")!
        let handBase = handSubnet.address.description, handPrefix = "\(handSubnet.address.bits >> 8 & 0xff)"
        try upstream.namespace.ip(["link", "add", "flannel.1", "address", handMAC, "mtu", "1450", "type", "vxlan", "id", "1",
                                   "local", upstream.address.description, "dev", "eth0", "dstport", "8472", "nolearning"])
        try upstream.namespace.ip(["addr", "add", "\(handBase)/32", "dev", "flannel.1"])
        try upstream.namespace.ip(["link", "set", "flannel.1", "up"])
        try lab.etcdctl(["put", "/coreos.com/network/subnets/\(handBase)-24",
                         #"{"PublicIP":"\#(upstream.address)","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"\#(handMAC)"}}"#])
        try SubnetFile(network: IPv4Network("10.1.0.0/16")!, subnet: handSubnet, mtu: 1450, ipMasq: false).rendered
            .write(toFile: upstream.subnetFilePath, atomically: true, encoding: .utf8)

        // Our lease, read the way upstream's agent reads it, programmed by hand.
        let ourLease = try Self.lease(lab, ourFile.ipv4)
        let ourMAC = try #require(ourLease.backendData?.member("VtepMAC")?.stringValue)
        let ourBase = ourFile.ipv4.address.description
        try upstream.namespace.ip(["neigh", "add", ourBase, "lladdr", ourMAC, "dev", "flannel.1", "nud", "permanent"])
        try upstream.namespace.check(["bridge", "fdb", "append", ourMAC, "dev", "flannel.1", "dst", ours.address.description, "self", "permanent"])
        try upstream.namespace.ip(["route", "add", ourFile.ipv4.description, "via", ourBase, "dev", "flannel.1", "onlink"])

        // Our agent programs the hand-made peer from its etcdctl-written lease.
        let view = KernelView(namespace: ours.namespace)
        try Poll.until("our agent to program the hand-made peer", timeout: .seconds(10)) {
            try view.routes(into: "10.1.\(handPrefix).") == ["\(handSubnet) via \(handBase) dev flannel.1 onlink"]
                && view.forwardingEntries("flannel.1") == ["\(handMAC) dst \(upstream.address) self permanent"]
        }

        let c1 = try ours.addContainer()
        let c2 = try upstream.addContainer()
        let forward = try c1.namespace.run(["ping", "-c", "3", "-W", "2", c2.address.description])
        #expect(forward.succeeded && forward.stdout.contains("ttl=62"), "\(forward.stdout)\(ours.agent?.log ?? "")")
        let back = try c2.namespace.run(["ping", "-c", "3", "-W", "2", c1.address.description])
        #expect(back.succeeded && back.stdout.contains("ttl=62"), "\(back.stdout)")
    }

    static func lease(_ lab: Lab, _ subnet: IPv4Network) throws -> LeaseAttributes {
        let value = try lab.etcdctl(["get", "/coreos.com/network/subnets/\(subnet.address)-\(subnet.prefixLength)", "--print-value-only"])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return try LeaseAttributes.decode(value)
    }
}
