import Agent
import Foundation
import NetnsLab
import Testing

/// The wireguard backend on real hosts (issue 28): this kernel has no WireGuard, so each
/// agent runs wireguard-go, each host with its own /run/wireguard. Leases carry the keys `wg`
/// shows; containers ping and iperf3 both ways through the tunnel; the underlay carries only
/// UDP 51820 and never a container packet's bytes; peers come and go with their leases; a
/// killed wireguard-go, a deleted device and a restart all come back with the same key.
@Suite("wireguard backend (lab, wireguard-go)", .serialized, .enabled(if: LabGate.shouldRun))
struct WireGuardLabTests {
    static let config = #"{ "Network": "10.1.0.0/16", "Backend": { "Type": "wireguard" } }"#

    /// `wg show flannel-wg dump`: the device's public key, then per peer its key, endpoint and allowed IPs.
    struct Dump: Equatable {
        var publicKey: String
        var peers: [String]

        init(_ text: String) {
            let lines = text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
            publicKey = lines.first.map { $0.count > 1 ? $0[1] : "" } ?? ""
            peers = lines.dropFirst().filter { $0.count >= 4 }.map { "\($0[0]) \($0[2]) \($0[3])" }.sorted()
        }
    }

    @Test func keysPeersEncryptionAndRecovery() throws {
        guard LabGate.requireRoot() else { return }
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config", Self.config])
        let hosts = try (1...3).map { try lab.addHost($0) }
        // h1 was on host-gw before: its per-peer route would take traffic past the tunnel.
        try hosts[0].namespace.ip(["route", "add", "10.1.250.0/24", "via", "192.0.2.250", "dev", "eth0"])
        for host in hosts { try host.startAgent(binary: SeedPingTests.flanneld) }
        let files = try hosts.map { try $0.waitForSubnetFile() }
        #expect(try hosts[0].namespace.ip(["-4", "route", "show", "10.1.250.0/24"]).stdout.isEmpty)
        #expect(hosts[0].agent?.log.contains("removed 10.1.250.0/24 via 192.0.2.250 dev eth0") == true, "\(hosts[0].agent?.log ?? "")")
        #expect(files.allSatisfy { $0.mtu == 1420 }, "wireguard MTU is 1500 − 80")

        // Each lease carries the public key wg shows for that host's flannel-wg.
        var keys: [String] = []
        for (host, file) in zip(hosts, files) {
            let lease = try BackendMatrixTests.lease(lab, file.ipv4)
            #expect(lease.backendType == "wireguard")
            let key = try #require(lease.backendData?.member("PublicKey")?.stringValue)
            #expect(Dump(try host.wireGuardDump()).publicKey == key)
            keys.append(key)
            #expect(host.agent?.log.contains("WireGuard: wireguard-go") == true, "the driver choice is logged")
        }
        func expected(_ peers: [Int]) -> [String] {
            peers.map { "\(keys[$0]) \(hosts[$0].address):51820 \(files[$0].ipv4)" }.sorted()
        }
        try Poll.until("h1 to have h2 and h3 as peers", timeout: .seconds(15)) { Dump(try hosts[0].wireGuardDump()).peers == expected([1, 2]) }
        let route = try hosts[0].namespace.ip(["-4", "route", "show", "10.1.0.0/16"]).stdout
        #expect(route.contains("10.1.0.0/16 dev flannel-wg"), "\(route)")

        // A udp lease written by hand is no peer, and the log says why.
        try lab.etcdctl(["put", "/coreos.com/network/subnets/10.1.251.0-24", #"{"PublicIP":"192.0.2.99","PublicIPv6":null}"#])
        try Poll.until("the ignored lease in the log", timeout: .seconds(5)) {
            hosts[0].agent?.log.contains("peer 10.1.251.0/24 ignored: its lease is for backend udp, this host runs wireguard") == true
        }
        try lab.etcdctl(["del", "/coreos.com/network/subnets/10.1.251.0-24"])

        // Containers ping both ways; the underlay's IPv4 traffic is UDP 51820 only, never the
        // payload's bytes, which the tunnel device itself does carry in clear. (IPv6 there is
        // the lab's link-local chatter: router solicitations.)
        let c1 = try hosts[0].addContainer()
        let c2 = try hosts[1].addContainer()
        let underlay = lab.directory.appendingPathComponent("underlay.pcap").path
        let inner = lab.directory.appendingPathComponent("inner.pcap").path
        let captures = [("eth0", underlay), ("flannel-wg", inner)].map { device, file in
            BackgroundProcess(command: hosts[0].namespace.command(["tcpdump", "-n", "-U", "-i", device, "-w", file, "ip"]),
                              logFile: lab.directory.appendingPathComponent("tcpdump-\(device).txt"))
        }
        for capture in captures { try capture.start() }
        try Poll.until("tcpdump to listen", timeout: .seconds(5)) { captures.allSatisfy { $0.log.contains("listening on") } }
        let pattern = "f1a77e1c0ffee5ec"
        let forward = try c1.namespace.run(["ping", "-c", "3", "-W", "2", "-p", pattern, c2.address.description])
        #expect(forward.succeeded && forward.stdout.contains("ttl=62"), "\(forward.stdout)\(hosts[0].agent?.log ?? "")")
        let back = try c2.namespace.run(["ping", "-c", "3", "-W", "2", "-p", pattern, c1.address.description])
        #expect(back.succeeded && back.stdout.contains("ttl=62"), "\(back.stdout)")
        for capture in captures { capture.stop() }
        let patternBytes = Data(stride(from: 0, to: pattern.count, by: 2).map { offset -> UInt8 in
            let start = pattern.index(pattern.startIndex, offsetBy: offset)
            return UInt8(pattern[start..<pattern.index(start, offsetBy: 2)], radix: 16)!
        })
        let underlayBytes = try Data(contentsOf: URL(fileURLWithPath: underlay))
        let innerBytes = try Data(contentsOf: URL(fileURLWithPath: inner))
        #expect(innerBytes.range(of: patternBytes) != nil, "the pattern is in the clear inside the tunnel (the search works)")
        #expect(underlayBytes.range(of: patternBytes) == nil, "the underlay carries no container bytes in clear")
        let packets = try hosts[0].namespace.check(["tcpdump", "-n", "-r", underlay]).stdout.split(separator: "\n")
        #expect(packets.count >= 12, "12 pings' packets at least: \(packets.count)")
        #expect(packets.allSatisfy { $0.contains(".51820 > ") && $0.contains(".51820: UDP") }, "\(packets.filter { !($0.contains(".51820 > ") && $0.contains(".51820: UDP")) }.prefix(5))")

        // iperf3 both ways through the tunnel.
        for (client, server) in [(c1, c2), (c2, c1)] {
            let listener = BackgroundProcess(command: server.namespace.command(["iperf3", "-s", "-1", "--forceflush"]),
                                             logFile: lab.directory.appendingPathComponent("iperf3-\(server.address).log"))
            try listener.start()
            try Poll.until("iperf3 to listen", timeout: .seconds(10)) { listener.log.contains("listening") }
            let run = try client.namespace.run(["timeout", "40", "iperf3", "-c", server.address.description, "-t", "2", "-J", "--connect-timeout", "5000"])
            let result = try BenchProbes.iperf(json: run.stdout)
            #expect(result.bitsPerSecond > 1_000_000, "\(client.address) → \(server.address): \(result.bitsPerSecond) bit/s")
        }

        // h3 leaves: its peer goes from h1's device.
        hosts[2].stopAgent()
        try lab.etcdctl(["del", "/coreos.com/network/subnets/\(files[2].ipv4.address)-24"])
        try Poll.until("h1 to drop h3's peer", timeout: .seconds(10)) { Dump(try hosts[0].wireGuardDump()).peers == expected([1]) }

        // wireguard-go killed: back within a resync with the same key and peers; traffic flows.
        // h1's only (the namespaces share one process table: pkill would reach every host's).
        let goProcesses = RunningLab.processes(named: "wireguard-go", in: hosts[0].namespace)
        #expect(goProcesses.count == 1)
        for pid in goProcesses { kill(pid, SIGKILL) }
        try Poll.until("h1 to restart wireguard-go", timeout: .seconds(25)) {
            let dump = Dump((try? hosts[0].wireGuardDump()) ?? "")
            return dump.publicKey == keys[0] && dump.peers == expected([1])
        }
        #expect(hosts[0].agent?.log.contains("exited with status") == true, "\(hosts[0].agent?.log ?? "")")
        #expect(try c1.namespace.run(["ping", "-c", "2", "-W", "2", c2.address.description]).succeeded)

        // flannel-wg deleted by hand: the same.
        try hosts[0].namespace.ip(["link", "del", "flannel-wg"])
        try Poll.until("h1 to re-make flannel-wg", timeout: .seconds(25)) {
            let dump = Dump((try? hosts[0].wireGuardDump()) ?? "")
            return dump.publicKey == keys[0] && dump.peers == expected([1])
        }
        try Poll.until("the route back through flannel-wg", timeout: .seconds(15)) {
            try hosts[0].namespace.ip(["-4", "route", "show", "10.1.0.0/16"]).stdout.contains("dev flannel-wg")
        }
        #expect(try c1.namespace.run(["ping", "-c", "2", "-W", "2", c2.address.description]).succeeded)

        // Restart with a stale peer added by hand while the agent was down: same key, same
        // wireguard-go (traffic never stopped), the stale peer removed at start.
        hosts[0].stopAgent()
        let stale = "MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="
        try hosts[0].namespace.check(hosts[0].wireGuard.wrap(["wg", "set", "flannel-wg", "peer", stale, "allowed-ips", "10.1.250.0/24"]))
        #expect(Dump(try hosts[0].wireGuardDump()).peers.count == 2)
        #expect(try c1.namespace.run(["ping", "-c", "1", "-W", "2", c2.address.description]).succeeded, "traffic flows while the agent is down")
        try hosts[0].startAgent(binary: SeedPingTests.flanneld)
        try Poll.until("h1's agent to be ready again", timeout: .seconds(15)) {
            (hosts[0].agent?.log.components(separatedBy: "] ready").count ?? 0) - 1 >= 2
        }
        try Poll.until("the stale peer gone", timeout: .seconds(5)) { Dump(try hosts[0].wireGuardDump()).peers == expected([1]) }
        #expect(try BackendMatrixTests.lease(lab, files[0].ipv4).backendData?.member("PublicKey")?.stringValue == keys[0])
        #expect(hosts[0].agent?.log.contains("reusing flannel-wg (wireguard-go)") == true, "\(hosts[0].agent?.log ?? "")")
        #expect(try c2.namespace.run(["ping", "-c", "1", "-W", "2", c1.address.description]).succeeded)
    }

    @Test func dualStackRunsFlannelWGV6BesideFlannelWG() throws {
        guard LabGate.requireRoot() else { return }
        let pair = try DualStackLabTests.pair(backend: "wireguard")
        defer { pair.lab.destroy() }
        #expect(pair.files.allSatisfy { $0.mtu == 1420 && $0.ipv6Subnet != nil }, "\(pair.files)")
        var keys: [String] = []
        for (host, file) in zip(pair.hosts, pair.files) {
            let lease = try DualStackLabTests.lease(pair.lab, file)
            let key = try #require(lease.backendData?.member("PublicKey")?.stringValue)
            #expect(lease.backendV6Data?.member("PublicKey")?.stringValue == key, "both halves carry the one key, as upstream's")
            #expect(try Dump(host.wireGuardDump()).publicKey == key && Dump(host.wireGuardDump(device: "flannel-wg-v6")).publicKey == key)
            keys.append(key)
        }
        let peerV6 = "\(keys[1]) [\(Lab.ipv6Address(ofHost: 2))]:51821 \(try #require(pair.files[1].ipv6Subnet))"
        var seen: [String] = []
        let found = (try? Poll.until("h1's flannel-wg-v6 to have h2", timeout: .seconds(15)) {
            seen = Dump(try pair.hosts[0].wireGuardDump(device: "flannel-wg-v6")).peers
            return seen == [peerV6]
        }) != nil
        #expect(found, "h1's flannel-wg-v6 peers: \(seen), wanted \(peerV6)")
        #expect(Dump(try pair.hosts[0].wireGuardDump()).peers == ["\(keys[1]) \(pair.hosts[1].address):51820 \(try #require(pair.files[1].subnet))"])
        let route = try pair.hosts[0].namespace.ip(["-6", "route", "show", "fd00:10:1::/48"]).stdout
        #expect(route.contains("dev flannel-wg-v6"), "\(route)")
        try DualStackLabTests.pingBothFamilies(pair, from: 0, to: 1)
        try DualStackLabTests.pingBothFamilies(pair, from: 1, to: 0)
    }

    @Test func modeAutoCarriesBothFamiliesOnFlannelWG() throws {
        guard LabGate.requireRoot() else { return }
        let config = #"{ "Network": "10.1.0.0/16", "EnableIPv6": true, "IPv6Network": "fd00:10:1::/48", "Backend": { "Type": "wireguard", "Mode": "auto" } }"#
        let pair = try DualStackLabTests.pair(backend: "wireguard", config: config)
        defer { pair.lab.destroy() }
        var keys: [String] = []
        for file in pair.files {
            let lease = try DualStackLabTests.lease(pair.lab, file)
            let key = try #require(lease.backendV6Data?.member("PublicKey")?.stringValue)
            #expect(lease.backendData?.member("PublicKey")?.stringValue == key)
            keys.append(key)
        }
        #expect(try !pair.hosts[0].namespace.run(["ip", "link", "show", "dev", "flannel-wg-v6"]).succeeded, "one device for both families")
        // Both public (TEST-NET and 2001:db8::/32): auto sends over IPv4, as upstream's selectPublicEndpoint.
        let wanted = "\(keys[1]) \(pair.hosts[1].address):51820 \(try #require(pair.files[1].subnet)),\(try #require(pair.files[1].ipv6Subnet))"
        var seen: [String] = []
        let found = (try? Poll.until("h1's flannel-wg to have h2 for both families", timeout: .seconds(15)) {
            seen = Dump(try pair.hosts[0].wireGuardDump()).peers
            return seen == [wanted]
        }) != nil
        #expect(found, "h1's flannel-wg peers: \(seen), wanted \(wanted)")
        let routes = try pair.hosts[0].namespace.ip(["-6", "route", "show", "fd00:10:1::/48"]).stdout
        #expect(routes.contains("dev flannel-wg "), "\(routes)")
        try DualStackLabTests.pingBothFamilies(pair, from: 0, to: 1)
        try DualStackLabTests.pingBothFamilies(pair, from: 1, to: 0)
    }
}
