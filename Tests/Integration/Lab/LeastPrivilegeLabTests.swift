import Agent
import Foundation
import NetnsLab
import Testing

/// From start-up on the agent holds CAP_NET_ADMIN alone (iptables-nft here needs no
/// CAP_NET_RAW), in its bounding set too, and still does all its work: forwarding, the
/// iptables resync through a child process, peers coming. It also runs as a non-root user
/// given CAP_NET_ADMIN as an ambient capability.
@Suite("least privilege (lab)", .serialized, .enabled(if: LabGate.shouldRun))
struct LeastPrivilegeLabTests {
    /// CapEff, CapPrm, CapBnd and CapAmb of `pid`, as /proc shows them (hex).
    static func capabilities(_ pid: Int32) throws -> [String: String] {
        let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("Cap") || line.hasPrefix("Uid:") {
            let parts = line.split(separator: ":", maxSplits: 1)
            result[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        return result
    }

    static let netAdminOnly = "0000000000001000"

    @Test func aRootAgentKeepsOnlyNetAdminAndStillRestoresItsRules() throws {
        guard LabGate.requireRoot() else { return }
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config", #"{ "Network": "10.1.0.0/16" }"#])
        let hosts = try (1...2).map { try lab.addHost($0) }
        for host in hosts { try host.startAgent(binary: SeedPingTests.flanneld, arguments: ["--ip-masq", "--iptables-resync=1"]) }
        _ = try hosts.map { try $0.waitForSubnetFile() }
        let agent = try #require(hosts[0].agent)
        #expect(agent.log.contains("keeping only CAP_NET_ADMIN (capabilities dropped at start"), "\(agent.log.prefix(800))")
        let pid = try #require(agent.processIdentifier)
        let caps = try Self.capabilities(pid)
        #expect(caps["CapEff"] == Self.netAdminOnly && caps["CapPrm"] == Self.netAdminOnly && caps["CapBnd"] == Self.netAdminOnly, "\(caps)")
        // Capabilities are per thread: every one of them (forwarding, swift-nio, the pool).
        let threads = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
        #expect(threads.count > 2)
        for thread in threads {
            let status = try String(contentsOfFile: "/proc/\(pid)/task/\(thread)/status", encoding: .utf8)
            #expect(status.contains("CapEff:\t\(Self.netAdminOnly)") && status.contains("CapBnd:\t\(Self.netAdminOnly)"), "thread \(thread)")
        }

        // The resync's iptables-save/-restore children work with what is left.
        let masquerade = try hosts[0].namespace.check(["iptables", "-t", "nat", "-S", "FLANNEL-POSTRTG"]).stdout
        let rule = try #require(masquerade.split(separator: "\n").first { $0.contains("MASQUERADE") })
        try hosts[0].namespace.check(["sh", "-c", "iptables -t nat " + rule.replacingOccurrences(of: "-A ", with: "-D ")])
        try Poll.until("the deleted masquerade rule restored", timeout: .seconds(15)) {
            try hosts[0].namespace.check(["iptables", "-t", "nat", "-S", "FLANNEL-POSTRTG"]).stdout.contains(String(rule))
        }
        let c1 = try hosts[0].addContainer()
        let c2 = try hosts[1].addContainer()
        let ping = try c1.namespace.run(["ping", "-c", "2", "-W", "2", c2.address.description])
        #expect(ping.succeeded && ping.stdout.contains("ttl=60"), "\(ping.stdout)\(agent.log.suffix(600))")
        #expect(!agent.log.contains("could not drop capabilities"), "\(agent.log.suffix(600))")
    }

    /// vxlan: the udp backend would also need /dev/net/tun open to the user (0600 here).
    @Test func aNonRootAgentWithAmbientNetAdminJoinsAndForwards() throws {
        guard LabGate.requireRoot() else { return }
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config", #"{ "Network": "10.1.0.0/16", "Backend": { "Type": "vxlan" } }"#])
        let hosts = try (1...2).map { try lab.addHost($0) }
        // nobody owns its host's folder (where subnet.env goes), nothing else.
        try CommandRunner.check(["chown", "nobody:nogroup", hosts[0].directory.path])
        let asNobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all,+net_admin",
                        "--ambient-caps=-all,+net_admin", "--bounding-set=-all,+net_admin", "--"]
        try hosts[0].startAgent(binary: SeedPingTests.flanneld, arguments: ["--ip-masq"], wrapper: asNobody)
        try hosts[1].startAgent(binary: SeedPingTests.flanneld)
        _ = try hosts.map { try $0.waitForSubnetFile() }
        let agent = try #require(hosts[0].agent)
        #expect(agent.log.contains("keeping only CAP_NET_ADMIN (capabilities dropped at start"), "\(agent.log.prefix(800))")
        let caps = try Self.capabilities(try #require(agent.processIdentifier))
        #expect(caps["Uid"]?.hasPrefix("65534") == true && caps["CapEff"] == Self.netAdminOnly && caps["CapAmb"] == Self.netAdminOnly, "\(caps)")
        #expect(try hosts[0].namespace.check(["iptables", "-t", "nat", "-S", "FLANNEL-POSTRTG"]).stdout.contains("MASQUERADE"))
        let c1 = try hosts[0].addContainer()
        let c2 = try hosts[1].addContainer()
        let ping = try c1.namespace.run(["ping", "-c", "2", "-W", "2", c2.address.description])
        #expect(ping.succeeded && ping.stdout.contains("ttl=62"), "\(ping.stdout)\(agent.log.suffix(600))")
    }
}
