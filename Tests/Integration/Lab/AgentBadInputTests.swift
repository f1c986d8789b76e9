import Agent
import Foundation
import NetnsLab
import Testing

/// S11's part that only real processes show: bad flags, files and an etcd down at start get a
/// clear error, and the agent keeps running where it can. (Bad configs, keys and datagrams
/// are the shared S11, `Scenario.badInput`, run in both worlds.)
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
