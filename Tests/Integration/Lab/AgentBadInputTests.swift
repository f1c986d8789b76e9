import Agent
import Foundation
import NetnsLab
import Testing

/// S11 for the agent: bad flags, files, configs and traffic get a clear error or a counted
/// drop, and the agent keeps running where it can.
@Suite("flanneld bad input (lab)", .serialized, .enabled(if: LabGate.shouldRun))
struct AgentBadInputTests {
    static let config = #"{ "Network": "10.1.0.0/16" }"#

    @Test func unknownFlagAndUnreadableCertFileFailClearly() throws {
        guard LabGate.requireRoot() else { return }
        let unknown = try CommandRunner.run([SeedPingTests.flanneld, "--no-such-flag"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("no-such-flag"), "\(unknown.stderr)")

        let badCert = try CommandRunner.run([SeedPingTests.flanneld, "--etcd-endpoints=https://127.0.0.1:1",
                                             "--etcd-cafile=/nonexistent/ca.pem", "--iface=lo"])
        #expect(badCert.status == 1)
        #expect(badCert.stderr.contains("--etcd-cafile: /nonexistent/ca.pem does not exist"), "\(badCert.stderr)")
        #expect(!badCert.stderr.contains("mypassword"))
    }

    @Test func withoutCapNetAdminItSaysHowToRunIt() throws {
        guard LabGate.requireRoot() else { return }
        let result = try CommandRunner.run(["capsh", "--drop=cap_net_admin", "--", "-c", "\(SeedPingTests.flanneld) --iface=lo"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("flanneld needs CAP_NET_ADMIN"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "one clear line: \(result.stderr)")
    }

    @Test func waitsForEtcdThenForAValidConfigSayingWhatItWaitsFor() throws {
        guard LabGate.requireRoot() else { return }
        let lab = try Lab()
        defer { lab.destroy() }
        let host = try lab.addHost(1)
        lab.stopEtcd()
        try host.startAgent(binary: SeedPingTests.flanneld, arguments: ["--healthz-port=10251", "--healthz-ip=127.0.0.1"])
        let agent = try #require(host.agent)
        try Poll.until("the agent to report etcd unreachable", timeout: .seconds(15)) { agent.log.contains("etcd is unavailable") }
        #expect(try Self.readyz(host).hasPrefix("503"))

        try lab.startEtcd()
        try Poll.until("the agent to wait for the config", timeout: .seconds(15)) {
            agent.log.contains("waiting for the network config at /coreos.com/network/config")
        }
        try lab.etcdctl(["put", "/coreos.com/network/config", #"{ "Network": "10.1.0.0/16", "SubnetLen": 31 }"#])
        try Poll.until("the agent to reject the bad config", timeout: .seconds(15)) {
            agent.log.contains("network config: SubnetLen: 31 is out of range")
        }
        #expect(agent.isRunning)
        try lab.etcdctl(["put", "/coreos.com/network/config", Self.config])
        let file = try host.waitForSubnetFile()
        #expect(file.network == IPv4Network("10.1.0.0/16"))
        try Poll.until("/readyz to say ready", timeout: .seconds(10)) { (try? Self.readyz(host))?.hasPrefix("200") ?? false }
        // Outages and waits are logged once each, not once per retry.
        let waits = agent.log.components(separatedBy: "waiting for the network config at").count - 1
        #expect(waits == 1, "\(agent.log)")
    }

    @Test func garbageAndNonPeerDatagramsAreCountedDroppedAndForwardingGoesOn() throws {
        guard LabGate.requireRoot() else { return }
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config", Self.config])
        let hosts = try (1...2).map { try lab.addHost($0) }
        for host in hosts { try host.startAgent(binary: SeedPingTests.flanneld) }
        _ = try hosts.map { try $0.waitForSubnetFile() }
        let c1 = try hosts[0].addContainer()
        let c2 = try hosts[1].addContainer()
        #expect(try c1.namespace.run(["ping", "-c", "1", "-W", "2", c2.address.description]).succeeded)

        // From etcd's namespace (not a peer) and from host 2 (a peer, but garbage).
        let send = { (namespace: Namespace, count: Int, payload: String) in
            _ = try namespace.check(["python3", "-c", """
                import socket
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                for _ in range(\(count)): s.sendto(\(payload), ('\(hosts[0].address)', 8285))
                """])
        }
        try send(lab.etcdNamespace, 50, "b'\\\\x45' + b'\\\\x00' * 83")
        try send(hosts[1].namespace, 20, "b'hello, flannel'")
        try send(hosts[1].namespace, 5, "b'\\\\x00' * 5000")

        let ping = try c1.namespace.run(["ping", "-c", "3", "-W", "2", c2.address.description])
        #expect(ping.succeeded && ping.stdout.contains("ttl=60"))
        let agent = try #require(hosts[0].agent)
        try Poll.until("the drop summary", timeout: .seconds(25)) { agent.log.contains("udp backend dropped packets") }
        let summary = agent.log.split(separator: "\n").first { $0.contains("udp backend dropped packets") }.map(String.init) ?? ""
        #expect(summary.contains("not_from_peer=50"), "\(summary)")
        #expect(summary.contains("malformed=20"), "\(summary)")
        #expect(summary.contains("oversized=5"), "\(summary)")
        #expect(agent.isRunning)
    }

    /// "200 ready" / "503 not ready: …" from the agent's /readyz, asked inside its namespace.
    static func readyz(_ host: LabHost) throws -> String {
        let result = try host.namespace.run(["python3", "-c", """
            import urllib.request, urllib.error
            try:
                r = urllib.request.urlopen('http://127.0.0.1:10251/readyz', timeout=2)
                print(r.status, r.read().decode().strip())
            except urllib.error.HTTPError as e:
                print(e.code, e.read().decode().strip())
            """])
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
