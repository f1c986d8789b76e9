import Agent
import Foundation
import NetnsLab
import Testing

/// Lease lifecycle scenarios on real hosts (SCENARIOS.md): S2, a restart keeps the subnet;
/// S6, a peer leaves and its subnet becomes unreachable at once.
@Suite("lease lifecycle (lab)", .serialized, .enabled(if: LabGate.shouldRun))
struct LeaseLifecycleLabTests {
    static let config = #"{ "Network": "10.1.0.0/16" }"#

    /// A UDP datagram from `container` to `address`; "errno 101" when the proxy answered
    /// ICMP net-unreachable (reported to a socket with IP_RECVERR as ENETUNREACH).
    static func udpProbe(from container: Namespace, to address: IPv4Address) throws -> String {
        try container.run(["python3", "-c", """
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.IPPROTO_IP, 11, 1)
            s.settimeout(3)
            s.connect(('\(address)', 9))
            s.send(b'anyone?')
            try:
                s.recv(100)
                print('answered')
            except OSError as e:
                print('errno', e.errno)
            """]).stdout
    }

    @Test func s2ARestartKeepsTheSubnetAndTrafficResumes() throws {
        guard LabGate.requireRoot() else { return }
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config", Self.config])
        let hosts = try (1...2).map { try lab.addHost($0) }
        for host in hosts { try host.startAgent(binary: SeedPingTests.flanneld) }
        let files = try hosts.map { try $0.waitForSubnetFile() }
        let containers = try hosts.map { try $0.addContainer() }
        let leaseKey = "/coreos.com/network/subnets/\(files[1].subnet.address)-24"
        let leaseBefore = try lab.etcdctl(["get", leaseKey, "--write-out=json"]).stdout
        #expect(try containers[0].namespace.run(["ping", "-c", "1", "-W", "2", containers[1].address.description]).succeeded)

        hosts[1].stopAgent()
        #expect(hosts[1].agent?.exitStatus == 0)
        // While it is down the lease stays, and so does h2's subnet in everyone's eyes.
        #expect(try lab.etcdctl(["get", leaseKey]).stdout.contains("\(hosts[1].address)"))
        try hosts[1].startAgent(binary: SeedPingTests.flanneld)
        try Poll.until("h2's agent to be ready again", timeout: .seconds(30)) {
            (hosts[1].agent?.log.components(separatedBy: "] ready").count ?? 0) >= 3
        }
        let log = hosts[1].agent?.log ?? ""
        #expect(try hosts[1].waitForSubnetFile().subnet == files[1].subnet, "the same subnet after a restart")
        #expect(!log.contains("SUBNET CHANGED"), "\(log)")
        // The same key, rewritten (renewed) by the restarted agent, never deleted in between.
        let leaseAfter = try lab.etcdctl(["get", leaseKey, "--write-out=json"]).stdout
        #expect(Self.createRevision(leaseAfter) == Self.createRevision(leaseBefore), "\(leaseBefore) vs \(leaseAfter)")
        #expect(Self.createRevision(leaseAfter) != nil)
        try Poll.until("the ping across to work again", timeout: .seconds(15)) {
            try containers[0].namespace.run(["ping", "-c", "1", "-W", "1", containers[1].address.description]).succeeded
        }
        let back = try containers[1].namespace.run(["ping", "-c", "2", "-W", "2", containers[0].address.description])
        #expect(back.stdout.contains("ttl=60"), "\(back.stdout)")
    }

    @Test func s6APeerThatLeavesBecomesUnreachableAtOnce() throws {
        guard LabGate.requireRoot() else { return }
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config", Self.config])
        let hosts = try (1...3).map { try lab.addHost($0) }
        for host in hosts { try host.startAgent(binary: SeedPingTests.flanneld) }
        let files = try hosts.map { try $0.waitForSubnetFile() }
        let containers = try hosts.map { try $0.addContainer() }
        #expect(try Self.udpProbe(from: containers[0].namespace, to: containers[2].address) != "errno 101\n", "h3 is a peer while it is here")

        // h3 leaves: its agent stops and its lease is deleted (as expiry would).
        hosts[2].stopAgent()
        try lab.etcdctl(["del", "/coreos.com/network/subnets/\(files[2].subnet.address)-24"])
        let gone = "peer removed: \(files[2].subnet)"
        try Poll.until("h1 and h2 to drop h3", timeout: .seconds(10)) {
            hosts[0...1].allSatisfy { $0.agent?.log.contains(gone) == true }
        }
        #expect(try Self.udpProbe(from: containers[0].namespace, to: containers[2].address) == "errno 101\n", "net unreachable from h1's proxy")
        #expect(try Self.udpProbe(from: containers[1].namespace, to: containers[2].address) == "errno 101\n", "net unreachable from h2's proxy")
        // The others still talk.
        let ping = try containers[0].namespace.run(["ping", "-c", "2", "-W", "2", containers[1].address.description])
        #expect(ping.stdout.contains("ttl=60"), "\(ping.stdout)")
    }

    /// The create_revision of the single key in `etcdctl get --write-out=json` output.
    static func createRevision(_ json: String) -> Int? {
        guard let range = json.range(of: #""create_revision":"#) else { return nil }
        return Int(json[range.upperBound...].prefix { $0.isNumber })
    }
}
