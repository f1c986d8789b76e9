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

    /// S3: a host down longer than the TTL loses its lease (the peers drop it), then comes
    /// back with the subnet its subnet.env names, nobody having taken it.
    @Test func s3AnExpiredLeaseComesBackFromSubnetEnv() throws {
        guard LabGate.requireRoot() else { return }
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config", Self.config])
        let hosts = try (1...2).map { try lab.addHost($0) }
        for host in hosts { try host.startAgent(binary: SeedPingTests.flanneld, arguments: ["--subnet-lease-ttl=5s"]) }
        let files = try hosts.map { try $0.waitForSubnetFile() }
        let containers = try hosts.map { try $0.addContainer() }

        hosts[1].stopAgent()
        try Poll.until("h2's lease to expire and h1 to drop it", timeout: .seconds(20)) {
            hosts[0].agent?.log.contains("peer removed: \(files[1].subnet)") == true
        }
        #expect(try lab.etcdctl(["get", "--prefix", "/coreos.com/network/subnets/"]).stdout.contains("\(hosts[1].address)") == false)
        try hosts[1].startAgent(binary: SeedPingTests.flanneld, arguments: ["--subnet-lease-ttl=5s"])
        try Poll.until("h1 to learn h2 again", timeout: .seconds(20)) {
            (hosts[0].agent?.log.components(separatedBy: "peer added: \(files[1].subnet)").count ?? 0) >= 3
        }
        #expect(try hosts[1].waitForSubnetFile().subnet == files[1].subnet, "the subnet from subnet.env")
        #expect(hosts[1].agent?.log.contains("SUBNET CHANGED") == false)
        try Poll.until("the ping across to work again", timeout: .seconds(15)) {
            try containers[0].namespace.run(["ping", "-c", "1", "-W", "1", containers[1].address.description]).succeeded
        }
    }

    /// S4: while h2 is down past its TTL, h3 takes h2's subnet (the only free one); h2 comes
    /// back to a new subnet and says so loudly, in its log and in subnet.env.
    @Test func s4ASubnetTakenWhileDownDriftsLoudly() throws {
        guard LabGate.requireRoot() else { return }
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config",
                         #"{ "Network": "10.1.0.0/16", "SubnetMin": "10.1.1.0", "SubnetMax": "10.1.3.0" }"#])
        let hosts = try (1...3).map { try lab.addHost($0) }
        let ttl = ["--subnet-lease-ttl=5s"]
        for host in hosts[0...1] { try host.startAgent(binary: SeedPingTests.flanneld, arguments: ttl) }
        let files = try hosts[0...1].map { try $0.waitForSubnetFile() }
        let all = ["10.1.1.0/24", "10.1.2.0/24", "10.1.3.0/24"].map { IPv4Network($0)! }
        let third = try #require(all.first { $0 != files[0].subnet && $0 != files[1].subnet })
        // The third subnet is held by someone else for now: h3 can only get h2's.
        let blocker = "/coreos.com/network/subnets/\(third.address)-24"
        try lab.etcdctl(["put", blocker, #"{"PublicIP":"192.0.2.99"}"#])

        hosts[1].stopAgent()
        try Poll.until("h2's lease to expire", timeout: .seconds(20)) {
            hosts[0].agent?.log.contains("peer removed: \(files[1].subnet)") == true
        }
        try hosts[2].startAgent(binary: SeedPingTests.flanneld, arguments: ttl)
        #expect(try hosts[2].waitForSubnetFile().subnet == files[1].subnet, "h3 took h2's old subnet")
        try lab.etcdctl(["del", blocker])

        try hosts[1].startAgent(binary: SeedPingTests.flanneld, arguments: ttl)
        try Poll.until("h2 to report the drift", timeout: .seconds(20)) {
            hosts[1].agent?.log.contains("SUBNET CHANGED: this host had \(files[1].subnet), it now holds \(third)") == true
        }
        try Poll.until("h2's subnet.env to name the new subnet", timeout: .seconds(10)) {
            (try? hosts[1].waitForSubnetFile(timeout: .seconds(1)).subnet) == third
        }
        let leases = try lab.etcdctl(["get", "--prefix", "/coreos.com/network/subnets/"]).stdout
        for (host, subnet) in zip(hosts, [files[0].subnet, third, files[1].subnet]) {
            #expect(leases.contains("/coreos.com/network/subnets/\(subnet.address)-24\n{\"PublicIP\":\"\(host.address)\""), "\(leases)")
        }
    }

    /// S7: a reservation (a key without TTL naming this host) is the subnet it gets, and its
    /// renewals never give it a TTL; nobody else takes it.
    @Test func s7AReservationIsHonouredAndNeverGetsATTL() throws {
        guard LabGate.requireRoot() else { return }
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config", Self.config])
        let hosts = try (1...2).map { try lab.addHost($0) }
        let key = "/coreos.com/network/subnets/10.1.77.0-24"
        // Written by an operator in another form than ours: the agent rewrites it, keeping no TTL.
        try lab.etcdctl(["put", key, #"{"PublicIP":"\#(hosts[1].address)","BackendType":"udp"}"#])
        let before = try lab.etcdctl(["get", key, "--write-out=json"]).stdout
        for host in hosts { try host.startAgent(binary: SeedPingTests.flanneld, arguments: ["--subnet-lease-ttl=4s"]) }
        let files = try hosts.map { try $0.waitForSubnetFile() }
        #expect(files[1].subnet == IPv4Network("10.1.77.0/24")!)
        #expect(files[0].subnet != files[1].subnet)
        // Rewritten in our form, still without a lease.
        try Poll.until("the agent's rewrite of the reservation", timeout: .seconds(15)) {
            Self.modRevision(try lab.etcdctl(["get", key, "--write-out=json"]).stdout) != Self.modRevision(before)
        }
        let after = try lab.etcdctl(["get", key, "--write-out=json"]).stdout
        #expect(!after.contains("\"lease\""), "the reservation got a TTL: \(after)")
        #expect(hosts[1].agent?.log.contains("reservation, no TTL") == true)
    }

    static func modRevision(_ json: String) -> Int? {
        guard let range = json.range(of: #""mod_revision":"#) else { return nil }
        return Int(json[range.upperBound...].prefix { $0.isNumber })
    }

    /// The create_revision of the single key in `etcdctl get --write-out=json` output.
    static func createRevision(_ json: String) -> Int? {
        guard let range = json.range(of: #""create_revision":"#) else { return nil }
        return Int(json[range.upperBound...].prefix { $0.isNumber })
    }
}
