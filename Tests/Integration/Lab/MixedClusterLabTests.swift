import Agent
import Foundation
import NetnsLab
import Testing

/// Our agent beside upstream's binary, for both releases the project answers to (0.7.0 on
/// etcd's v2 API, 0.20.2 on v3) and each backend: each side's lease reads as the other
/// writes it, both subnet.env files name the same MTU, containers ping and carry iperf3 both
/// ways, and for udp the datagrams of both agents have the same size and ports.
///
/// Start order: ours on h1 first, upstream on h2 once ours holds its lease. Upstream 0.20.2
/// can miss a lease created while it opens its watch (COMPAT.md; the conformance report shows
/// it), so it never starts before ours; what each step waits for is said where it waits.
@Suite("Mixed clusters with upstream flannel (lab)", .serialized, .enabled(if: LabGate.shouldRun))
struct MixedClusterLabTests {
    enum Release: String, CaseIterable, Sendable {
        case v070 = "0.7.0"
        case v0202 = "0.20.2"

        /// `FLANNEL_UPSTREAM_DIR`, else `shared/upstream` beside the repository.
        var binary: String {
            let directory = ProcessInfo.processInfo.environment["FLANNEL_UPSTREAM_DIR"]
                ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/upstream").path
            return "\(directory)/flanneld-\(rawValue)"
        }

        /// 0.7.0 speaks etcd's v2 API only.
        var usesV2: Bool { self == .v070 }
    }

    static let cases: [(Release, String)] = Release.allCases.flatMap { release in ["udp", "vxlan", "host-gw"].map { (release, $0) } }

    /// A lease's value as etcd holds it, through the API the release uses.
    static func leaseValue(_ lab: Lab, _ subnet: IPv4Network, v2: Bool) throws -> String {
        let key = "/coreos.com/network/subnets/\(subnet.address)-\(subnet.prefixLength)"
        let output = v2 ? try CommandRunner.check(lab.etcdctlV2Command(["get", key])).stdout
            : try lab.etcdctl(["get", key, "--print-value-only"]).stdout
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// ping from `from` to `to` until it answers, then three with the expected ttl.
    static func ping(_ from: (namespace: Namespace, address: IPv4Address), _ to: (namespace: Namespace, address: IPv4Address),
                     ttl: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try Poll.until("\(from.namespace) to reach \(to.address)", timeout: .seconds(20)) {
            try from.namespace.run(["ping", "-c", "1", "-W", "1", to.address.description]).succeeded
        }
        let ping = try from.namespace.run(["ping", "-c", "3", "-W", "2", to.address.description])
        #expect(ping.succeeded && ping.stdout.contains("ttl=\(ttl)"), "\(ping.stdout)\(ping.stderr)", sourceLocation: sourceLocation)
    }

    @Test(arguments: cases)
    func oursBesideUpstream(release: Release, backend: String) throws {
        guard LabGate.requireRoot() else { return }
        guard FileManager.default.isExecutableFile(atPath: release.binary) else {
            if LabGate.isCI { Issue.record("\(release.binary) is missing; set FLANNEL_UPSTREAM_DIR to the folder holding flanneld-\(release.rawValue)") }
            return
        }
        let lab = try Lab(enableV2: release.usesV2)
        defer { lab.destroy() }
        let config = #"{ "Network": "10.1.0.0/16", "Backend": { "Type": "\#(backend)" } }"#
        if release.usesV2 {
            try CommandRunner.check(lab.etcdctlV2Command(["set", "/coreos.com/network/config", config]))
        } else {
            try lab.etcdctl(["put", "/coreos.com/network/config", config])
        }
        let (ours, upstream) = (try lab.addHost(1), try lab.addHost(2))
        // Ours first (with --etcd-api=auto it settles on v2 when only v2 has the config), then upstream.
        try ours.startAgent(binary: SeedPingTests.flanneld)
        let ourFile = try ours.waitForSubnetFile()
        try upstream.startAgent(binary: release.binary, arguments: ["-iface=eth0"])
        let theirFile = try upstream.waitForSubnetFile()

        // Each side's lease reads as the other writes it; one MTU on both hosts.
        let ourLease = try LeaseAttributes.decode(try Self.leaseValue(lab, ourFile.ipv4, v2: release.usesV2))
        let theirValue = try Self.leaseValue(lab, theirFile.ipv4, v2: release.usesV2)
        let theirLease = try LeaseAttributes.decode(theirValue)
        #expect(ourLease.publicIP == ours.address && ourLease.effectiveBackendType == backend)
        #expect(theirLease.publicIP == upstream.address && theirLease.effectiveBackendType == backend, "\(theirValue)")
        #expect(theirFile.network == ourFile.network && theirFile.mtu == ourFile.mtu, "ours \(ourFile.rendered) upstream \(theirFile.rendered)")

        let (c1, c2) = (try ours.addContainer(), try upstream.addContainer())
        // udp: container → docker0 → flannel0 → … → flannel0 → docker0 (4 hops); kernel backends 2.
        let ttl = backend == "udp" ? 60 : 62
        try Self.ping(c1, c2, ttl: ttl)
        try Self.ping(c2, c1, ttl: ttl)

        // iperf3 both ways (-R: the server sends).
        let server = BackgroundProcess(command: c2.namespace.command(["iperf3", "-s", "--forceflush"]),
                                       logFile: lab.directory.appendingPathComponent("iperf3-server.log"))
        try server.start()
        defer { server.stop() }
        try Poll.until("iperf3 to listen in \(c2.namespace)", timeout: .seconds(10)) { server.log.contains("listening") }
        for reverse in [false, true] {
            let run = try c1.namespace.run(["timeout", "30", "iperf3", "-c", c2.address.description, "-t", "2", "-J"] + (reverse ? ["-R"] : []))
            let rate = try BenchProbes.iperf(json: run.stdout).bitsPerSecond
            #expect(rate > 0, "iperf3\(reverse ? " -R" : ""): \(run.stdout.suffix(300))")
        }

        // udp: one echo request (ours → upstream) and its reply (upstream → ours) on h1's eth0:
        // the same ports and the same size for the same 84-byte inner packet.
        if backend == "udp" {
            let capture = BackgroundProcess(command: ours.namespace.command(["tcpdump", "-l", "-n", "-c", "2", "-i", "eth0", "udp", "port", "8285"]),
                                            logFile: lab.directory.appendingPathComponent("udp-capture.txt"))
            try capture.start()
            defer { capture.stop(grace: .milliseconds(100)) }
            try Poll.until("tcpdump to listen on h1's eth0", timeout: .seconds(5)) { capture.log.contains("listening on") }
            #expect(try c1.namespace.run(["ping", "-c", "1", "-W", "2", "-s", "56", c2.address.description]).succeeded)
            try Poll.until("two datagrams in the capture", timeout: .seconds(5)) { capture.log.components(separatedBy: "UDP, length").count == 3 }
            let lines = capture.log.split(separator: "\n").filter { $0.contains("UDP, length") }
            #expect(lines.count == 2 && lines[0].contains("\(ours.address).8285 > \(upstream.address).8285: UDP, length 84"), "\(lines)")
            #expect(lines.count == 2 && lines[1].contains("\(upstream.address).8285 > \(ours.address).8285: UDP, length 84"), "\(lines)")
        }
    }
}
