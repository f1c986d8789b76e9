import Agent
import Foundation
import NetnsLab
import Testing

/// Scenario S1, the walkthrough's ping across hosts, with real flanneld processes, a real
/// etcd and real kernels: each host in its own network namespace.
@Suite("S1 seed-ping (lab)", .serialized, .enabled(if: LabGate.shouldRun))
struct SeedPingTests {
    static var flanneld: String {
        if let path = ProcessInfo.processInfo.environment["FLANNELD_BINARY"] { return path }
        // The test bundle sits next to the built products.
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("flanneld").path
    }

    @Test func pingAcrossHostsAnswersWithTTL60() throws {
        guard LabGate.requireRoot() else { return }
        #expect(FileManager.default.isExecutableFile(atPath: Self.flanneld), "flanneld not built at \(Self.flanneld)")
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config", #"{ "Network": "10.1.0.0/16" }"#])
        let hosts = try (1...2).map { try lab.addHost($0) }
        for host in hosts { try host.startAgent(binary: Self.flanneld) }
        let files = try hosts.map { try $0.waitForSubnetFile() }

        // subnet.env as upstream writes it; MTU = 1500 − 28.
        for file in files {
            #expect(file.network == IPv4Network("10.1.0.0/16"))
            #expect(file.mtu == 1472)
            #expect(file.ipv4.prefixLength == 24)
        }
        #expect(files[0].subnet != files[1].subnet)

        // etcd: two leases whose PublicIP is each host's underlay address.
        let leases = try lab.etcdctl(["get", "--prefix", "/coreos.com/network/subnets/"]).stdout
        for (host, file) in zip(hosts, files) {
            #expect(leases.contains("/coreos.com/network/subnets/\(file.ipv4.address)-24\n{\"PublicIP\":\"\(host.address)\",\"PublicIPv6\":null}"),
                    "\(leases)")
        }

        // flannel0: the subnet's address /32, MTU 1472, and the network routed through it.
        let flannel0 = try hosts[0].namespace.ip(["-j", "addr", "show", "flannel0"]).stdout
        #expect(flannel0.contains("\"mtu\":1472"))
        #expect(flannel0.contains("\"local\":\"\(files[0].ipv4.address)\",\"prefixlen\":32"))
        let routes = try hosts[0].namespace.ip(["route", "show", "10.1.0.0/16"]).stdout
        #expect(routes.contains("dev flannel0"))

        let c1 = try hosts[0].addContainer()
        let c2 = try hosts[1].addContainer()

        // Capture the underlay while pinging: UDP 8285 → 8285 between the public addresses.
        let capture = BackgroundProcess(
            command: hosts[0].namespace.command(["tcpdump", "-l", "-n", "-i", "eth0", "-c", "2", "udp", "port", "8285"]),
            logFile: URL(fileURLWithPath: lab.directory.appendingPathComponent("capture.txt").path))
        try capture.start()
        try Poll.until("tcpdump to listen", timeout: .seconds(5)) { capture.log.contains("listening on") }

        let forward = try c1.namespace.run(["ping", "-c", "3", "-W", "2", c2.address.description])
        #expect(forward.succeeded, "\(forward.stdout)\(forward.stderr)\n\(hosts[0].agent?.log ?? "")")
        #expect(forward.stdout.contains("ttl=60"), "\(forward.stdout)")
        let back = try c2.namespace.run(["ping", "-c", "3", "-W", "2", c1.address.description])
        #expect(back.succeeded && back.stdout.contains("ttl=60"), "\(back.stdout)")

        try Poll.until("the underlay capture", timeout: .seconds(5)) { !capture.isRunning }
        let captured = capture.log
        #expect(captured.contains("\(hosts[0].address).8285 > \(hosts[1].address).8285: UDP, length 84"), "\(captured)")

        // A subnet no peer holds: the proxy answers ICMP net-unreachable at once (never for
        // ICMP itself, so a UDP sender it is). Linux reports that non-fatal error only to a
        // socket with IP_RECVERR (11), as ENETUNREACH (101).
        let nowhere = try c1.namespace.udpProbe(to: IPv4Address(10, 1, 254, 9))
        #expect(nowhere.contains("errno 101"), "\(nowhere)")

        // SIGTERM: exit 0 within a second, the lease stays, flannel0 goes.
        let took = hosts[1].stopAgent()
        #expect(hosts[1].agent?.exitStatus == 0)
        #expect(took < .seconds(1), "flanneld took \(took) to stop")
        #expect(try lab.etcdctl(["get", "--prefix", "/coreos.com/network/subnets/"]).stdout.contains("\(hosts[1].address)"))
        #expect(!(try hosts[1].namespace.run(["ip", "link", "show", "flannel0"]).succeeded))

        // flannel0 deleted under the agent: it exits 1 saying why (no silent spinning), so
        // the service manager restarts it.
        try hosts[0].namespace.ip(["link", "del", "flannel0"])
        let agent = try #require(hosts[0].agent)
        try Poll.until("the agent to exit after losing flannel0", timeout: .seconds(10)) { !agent.isRunning }
        #expect(agent.exitStatus == 1)
        #expect(agent.log.contains("udp backend:"), "\(agent.log.suffix(500))")
    }
}
