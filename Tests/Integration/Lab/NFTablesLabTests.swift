import Agent
import Foundation
import NetnsLab
import Testing

/// S1 with `--ip-masq` and `"EnableNFTables": true`: upstream's nftables table, exactly, as
/// `nft -j list ruleset` shows it; no iptables chains (those of an earlier iptables-mode run
/// removed); restored when a rule is deleted; container addresses kept across the overlay,
/// masqueraded out of it; and a host without iptables at all works the same.
@Suite("nftables rules (lab)", .serialized, .enabled(if: LabGate.shouldRun))
struct NFTablesLabTests {
    @Test func enableNFTablesKeepsTheRulesInOurTableAndLeavesIPTablesAlone() throws {
        guard LabGate.requireRoot() else { return }
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config", #"{ "Network": "10.1.0.0/16", "EnableNFTables": true }"#])
        let hosts = try (1...3).map { try lab.addHost($0) }
        // h1 was run in iptables mode before: its chains and jumps are still there.
        let earlier = TrafficRules(network: IPv4Network("10.1.0.0/16")!, subnet: IPv4Network("10.1.7.0/24")!, ipMasq: true, forwardRules: true)
        try Self.run(["iptables-restore", "--noflush"], in: hosts[0], input: earlier.restoreInput(saved: ""))
        #expect(try hosts[0].namespace.check(["iptables-save"]).stdout.contains("FLANNEL-POSTRTG"))

        let flags = ["--ip-masq", "--iptables-resync=1"]
        // h1 at -v=1: its debug line per resync that found the table in place shows the resyncs go on.
        try hosts[0].startAgent(binary: SeedPingTests.flanneld, arguments: flags + ["-v=1"])
        try hosts[1].startAgent(binary: SeedPingTests.flanneld, arguments: flags)
        // h3 has no iptables: the binaries are hidden from its agent (see `withoutIPTables`).
        try hosts[2].startAgent(binary: try Self.withoutIPTables(lab), arguments: flags)
        let files = try hosts.map { try $0.waitForSubnetFile() }
        #expect(files.allSatisfy { $0.ipMasq }, "FLANNEL_IPMASQ=true in subnet.env")
        let containers = try hosts.map { try $0.addContainer() }

        // The table, exactly, in each namespace; nothing of ours in iptables.
        let network = IPv4Network("10.1.0.0/16")!
        let expected = files.map { NFTablesRules(network: network, subnet: $0.ipv4, ipMasq: true, forwardRules: true) }
        let ruleset = { (index: Int) in try hosts[index].namespace.check(["nft", "-j", "list", "ruleset"]).stdout }
        for index in hosts.indices {
            try Poll.until("h\(index + 1)'s nftables table", timeout: .seconds(10)) {
                try expected[index].differences(fromListing: try ruleset(index)).isEmpty
            }
            let listing = try NFTablesListing(json: try ruleset(index), family: "ip", table: "flannel-ipv4")
            #expect(listing.rules.map(\.text) == expected[index].rules.map(\.text))
            #expect(listing.chains.map(\.name) == ["postrtg", "forward"])
        }
        for host in hosts[0...1] {
            let saved = try host.namespace.check(["iptables-save"]).stdout
            #expect(!saved.contains("FLANNEL"), "iptables mode's chains in \(host.namespace):\n\(saved)")
        }
        let firstLog = hosts[0].agent?.log ?? ""
        #expect(firstLog.contains("removed iptables mode's chains FLANNEL-POSTRTG/FLANNEL-FWD"), "\(firstLog)")
        #expect(firstLog.contains("nftables: 8 rules in place"), "\(firstLog)")
        let hiddenLog = hosts[2].agent?.log ?? ""
        #expect(hiddenLog.contains("wrapper: iptables hidden"), "the wrapper could not hide iptables:\n\(hiddenLog)")
        #expect(!hiddenLog.contains("iptables-save") && !hiddenLog.contains("iptables-restore"), "\(hiddenLog)")

        // Container to container: the source address survives (seen on h2's container side),
        // from a host with iptables and from one without.
        for source in [containers[0], containers[2]] {
            let (ping, capture) = try lab.pingCaptured(from: source.namespace, to: containers[1].address, observer: hosts[1].namespace,
                                                       device: "veth1", name: "inside-\(source.address)")
            #expect(ping.contains("ttl=60"), "\(ping)")
            #expect(capture.contains("\(source.address) > \(containers[1].address)"), "\(capture)")
        }

        // Out of the overlay (to etcd's address on the underlay): masqueraded to h1's address.
        let (out, outside) = try lab.pingCaptured(from: containers[0].namespace, to: Lab.etcdAddress, observer: hosts[0].namespace,
                                                  device: "eth0", name: "outside")
        #expect(out.contains(" 0% packet loss"), "\(out)")
        #expect(outside.contains("\(hosts[0].address) > \(Lab.etcdAddress)"), "\(outside)")

        // A rule deleted by hand comes back within a resync, and the log says so, once.
        let victim = expected[0].rules[4]
        let listing = try NFTablesListing(json: try ruleset(0), family: "ip", table: "flannel-ipv4")
        let handle = try #require(listing.rules.first { $0.chain == victim.chain && $0.text == victim.text }?.handle)
        try hosts[0].namespace.check(["nft", "delete", "rule", "ip", "flannel-ipv4", victim.chain, "handle", String(handle)])
        // Resyncs so far found nothing to fix (the comparison with nft's JSON does not flap).
        #expect(hosts[0].agent?.log.contains("behind our back") == false)
        try Poll.until("the deleted rule to come back", timeout: .seconds(10)) {
            try expected[0].differences(fromListing: try ruleset(0)).isEmpty
        }
        try Poll.until("the log line", timeout: .seconds(5)) { hosts[0].agent?.log.contains("nftables rules changed behind our back") == true }
        // Two more resyncs: the restored table must compare equal, not be "restored" again.
        let checks = { (hosts[0].agent?.log ?? "").components(separatedBy: "nftables rules checked: in place").count }
        let checked = checks()
        try Poll.until("two resyncs after the restore", timeout: .seconds(10)) { checks() >= checked + 2 }
        let log = hosts[0].agent?.log ?? ""
        #expect(log.components(separatedBy: "behind our back").count == 2, "restored once:\n\(log)")
        #expect(log.contains("missing postrtg: \(victim.text)"), "\(log)")
        #expect(!log.contains("iptables rules changed"), "\(log)")
        #expect(try hosts[0].namespace.check(["iptables-save"]).stdout.contains("FLANNEL") == false)
    }

    /// Back in iptables mode (EnableNFTables absent), the table an nftables run left is deleted
    /// and the rules are iptables' again.
    @Test func iptablesModeDeletesTheTableOfAnEarlierNFTablesRun() throws {
        guard LabGate.requireRoot() else { return }
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config", #"{ "Network": "10.1.0.0/16" }"#])
        let host = try lab.addHost(1)
        let earlier = NFTablesRules(network: IPv4Network("10.1.0.0/16")!, subnet: IPv4Network("10.1.7.0/24")!, ipMasq: true, forwardRules: true)
        try Self.run(["nft", "-f", "-"], in: host, input: earlier.transaction())
        try host.startAgent(binary: SeedPingTests.flanneld, arguments: ["--ip-masq"])
        let file = try host.waitForSubnetFile()
        let expected = TrafficRules(network: IPv4Network("10.1.0.0/16")!, subnet: file.ipv4, ipMasq: true, forwardRules: true)
        #expect(expected.differences(fromSaved: try host.namespace.check(["iptables-save"]).stdout).isEmpty)
        let tables = try host.namespace.check(["nft", "list", "tables"]).stdout
        #expect(!tables.contains("flannel-ipv4"), "\(tables)")
        let log = host.agent?.log ?? ""
        #expect(log.contains("removed nftables table ip flannel-ipv4 left by a run with EnableNFTables"), "\(log)")
    }

    /// A wrapper that runs flanneld in a private mount namespace where iptables cannot run:
    /// an empty, non-executable file is bind-mounted over the multi-call binaries every
    /// `iptables*` name leads to (a `PATH` without them is not enough: tools run via
    /// /usr/bin/env, and /usr/sbin holds nft too). It checks the hiding worked and says so.
    static func withoutIPTables(_ lab: Lab) throws -> String {
        let empty = lab.directory.appendingPathComponent("no-iptables")
        try Data().write(to: empty)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: empty.path)
        let wrapper = lab.directory.appendingPathComponent("flanneld-without-iptables")
        try """
            #!/bin/sh
            exec unshare --mount --propagation private sh -c '
              empty=$1; shift
              for binary in /usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi; do
                [ -e "$binary" ] && mount --bind "$empty" "$binary"
              done
              if iptables-save >/dev/null 2>&1; then echo "wrapper: iptables still runs" >&2; exit 1; fi
              echo "wrapper: iptables hidden" >&2
              exec "$@"' wrapper "\(empty.path)" "\(SeedPingTests.flanneld)" "$@"

            """.write(to: wrapper, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: wrapper.path)
        return wrapper.path
    }

    /// Runs `arguments` in `host`'s namespace with `input` on stdin.
    static func run(_ arguments: [String], in host: LabHost, input: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = host.namespace.command(arguments)
        let feed = Pipe()
        process.standardInput = feed
        try process.run()
        try feed.fileHandleForWriting.write(contentsOf: Data(input.utf8))
        try feed.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CommandFailure(command: arguments, status: process.terminationStatus) }
    }

    struct CommandFailure: Error {
        var command: [String]
        var status: Int32
    }
}
