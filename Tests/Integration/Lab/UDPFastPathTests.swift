import Agent
import Foundation
import NetnsLab
import Testing

/// The udp fast path keeps upstream's wire format: a host running it and a host running the
/// plain read/sendto loop (upstream's design, the bench's baseline) ping and iperf3 each other
/// both ways; so do a fast-path host and one with `--udp-offload=off`.
@Suite("udp fast path (lab)", .serialized, .enabled(if: LabGate.shouldRun))
struct UDPFastPathTests {
    static var netnsLab: String {
        URL(fileURLWithPath: SeedPingTests.flanneld).deletingLastPathComponent().appendingPathComponent("netns-lab").path
    }

    /// iperf3 for 2 s from `source` to `target` (whose server runs once, logging to a file of its
    /// own: an earlier server's "listening" must not count): the received rate.
    static func iperf(_ lab: Lab, from source: Namespace, to target: (namespace: Namespace, address: IPv4Address)) throws -> Double {
        let server = BackgroundProcess(command: target.namespace.command(["iperf3", "-s", "-1", "--forceflush"]),
                                       logFile: lab.directory.appendingPathComponent("iperf3-\(target.namespace.name)-\(UUID().uuidString.prefix(8)).log"))
        try server.start()
        defer { server.stop() }
        try Poll.until("iperf3 to listen in \(target.namespace)", timeout: .seconds(10)) { server.log.contains("listening") }
        let run = try source.run(["timeout", "30", "iperf3", "-c", target.address.description, "-t", "2", "-J"])
        do {
            return try BenchProbes.iperf(json: run.stdout).bitsPerSecond
        } catch {
            throw Failure(description: "iperf3 \(source) → \(target.address): \(error); server: \(server.log.suffix(300))")
        }
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// `flannel_udp_packets_total{direction=…}` in a metrics page.
    static func packets(_ direction: String, in metrics: String) -> Int {
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("flannel_udp_packets_total{direction=\"\(direction)\"}") }
        return line?.split(separator: " ").last.flatMap { Int($0) } ?? 0
    }

    /// `Udp: InDatagrams` of /proc/net/snmp in `namespace`.
    static func udpDatagramsReceived(in namespace: Namespace) throws -> Int {
        let text = try namespace.check(["cat", "/proc/net/snmp"]).stdout
        guard let value = BenchProbes.snmp(text, protocol: "Udp")["InDatagrams"] else {
            throw Failure(description: "no Udp InDatagrams in /proc/net/snmp of \(namespace)")
        }
        return value
    }

    @Test func theFastPathTalksToThePlainLoopAndToOffloadOffBothWays() throws {
        guard LabGate.requireRoot() else { return }
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config", #"{ "Network": "10.1.0.0/16" }"#])
        let hosts = try (1...2).map { try lab.addHost($0) }
        // Underlay veths that act as NICs (for every phase below): frames leave wire-sized and the
        // receiving eth0 joins datagrams (GRO), which the fast path takes with UDP_GRO and splits.
        try lab.emulateNICs()
        try hosts[0].startAgent(binary: SeedPingTests.flanneld, arguments: ["--healthz-port=18011"])
        try hosts[1].startAgent(binary: SeedPingTests.flanneld)
        let files = try hosts.map { try $0.waitForSubnetFile() }
        let containers = try hosts.map { try $0.addContainer() }
        #expect(hosts[0].agent?.log.contains("udp fast path (--udp-offload=auto): TUN TSO4 (segmented here), UDP_SEGMENT sends, UDP_GRO receives") == true,
                "\(hosts[0].agent?.log ?? "")")

        // h2 swaps flanneld for the plain loop; h1 keeps its fast path and h2's lease.
        hosts[1].stopAgent()
        let loop = BackgroundProcess(
            command: hosts[1].namespace.command([
                Self.netnsLab, "plain-loop", "--address", files[1].ipv4.address.description, "--network", (files[1].network.map { "\($0)" } ?? "none"),
                "--mtu", String(files[1].mtu), "--listen", hosts[1].address.description, "--peer", "\(files[0].ipv4)=\(hosts[0].address)",
            ]),
            logFile: hosts[1].directory.appendingPathComponent("plain-loop.log"))
        try loop.start()
        defer { loop.stop() }
        try Poll.until("the plain loop to carry a ping", timeout: .seconds(15), interval: .milliseconds(200)) {
            try containers[0].namespace.run(["ping", "-c", "1", "-W", "1", containers[1].address.description]).succeeded
        }
        #expect(try containers[1].namespace.run(["ping", "-c", "2", "-W", "2", containers[0].address.description]).succeeded, "plain loop → fast path")
        let toPlain = try Self.iperf(lab, from: containers[0].namespace, to: containers[1])
        let fromPlain = try Self.iperf(lab, from: containers[1].namespace, to: containers[0])
        #expect(toPlain > 1e6 && fromPlain > 1e6, "iperf3 fast path → plain loop \(toPlain / 1e6) Mbit/s, back \(fromPlain / 1e6) Mbit/s")

        // h2 runs flanneld again, with the fast path off.
        loop.stop()
        try hosts[1].startAgent(binary: SeedPingTests.flanneld, arguments: ["--udp-offload=off"])
        try Poll.until("h2's agent to be ready again", timeout: .seconds(20)) {
            (hosts[1].agent?.log.components(separatedBy: "] ready").count ?? 0) >= 3
        }
        #expect(hosts[1].agent?.log.contains("udp fast path (--udp-offload=off): off (plain TUN, one datagram per inner packet, sent and received in batches)") == true)
        try Poll.until("a ping to cross again", timeout: .seconds(15), interval: .milliseconds(200)) {
            try containers[0].namespace.run(["ping", "-c", "1", "-W", "1", containers[1].address.description]).succeeded
        }
        let back = try containers[1].namespace.run(["ping", "-c", "2", "-W", "2", containers[0].address.description])
        #expect(back.stdout.contains("ttl=60"), "\(back.stdout)")
        let toOff = try Self.iperf(lab, from: containers[0].namespace, to: containers[1])
        let fromOff = try Self.iperf(lab, from: containers[1].namespace, to: containers[0])
        #expect(toOff > 1e6 && fromOff > 1e6, "iperf3 fast path → offload off \(toOff / 1e6) Mbit/s, back \(fromOff / 1e6) Mbit/s")

        // After the bulk runs the outbound threads handed the TUN back: pings still cross.
        for (source, target) in [(containers[0], containers[1]), (containers[1], containers[0])] {
            let after = try source.namespace.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", target.address.description])
            #expect(after.stdout.contains("3 received"), "ping after the iperf3 runs: \(after.stdout)")
        }

        // Four iperf3 runs through h1's fast path: packets both ways, not one dropped.
        let metrics = try hosts[0].metrics(port: 18011)
        let lines = metrics.split(separator: "\n").filter { !$0.hasPrefix("#") }
        let drops = lines.filter { $0.hasPrefix("flannel_udp_drops_total") }
        #expect(drops.count == UDPEncapsulation.DropReason.allCases.count && drops.allSatisfy { $0.hasSuffix(" 0") }, "\(drops)")
        for direction in ["out", "in"] {
            let packets = Self.packets(direction, in: metrics)
            #expect(packets > 1_000, "\(direction): \(packets) packets")
        }

        // Fast path to fast path over eth0s that do GRO: h2's UDP_SEGMENT sends reach h1's socket
        // joined (the kernel counts one datagram per receive), are split there and delivered.
        hosts[1].stopAgent()
        let readyBefore = hosts[1].agent?.log.components(separatedBy: "] ready").count ?? 0
        try hosts[1].startAgent(binary: SeedPingTests.flanneld)
        try Poll.until("h2's agent to be ready with the fast path", timeout: .seconds(20)) {
            (hosts[1].agent?.log.components(separatedBy: "] ready").count ?? 0) > readyBefore
        }
        let restarted = hosts[1].agent?.log.components(separatedBy: "] ready").dropLast().last ?? ""
        #expect(restarted.contains("udp fast path (--udp-offload=auto): TUN TSO4 (segmented here), UDP_SEGMENT sends"), "\(restarted)")
        try Poll.until("a ping to cross fast path to fast path", timeout: .seconds(15), interval: .milliseconds(200)) {
            try containers[1].namespace.run(["ping", "-c", "1", "-W", "1", containers[0].address.description]).succeeded
        }
        let (datagramsBefore, packetsBefore) = (try Self.udpDatagramsReceived(in: hosts[0].namespace),
                                                Self.packets("in", in: try hosts[0].metrics(port: 18011)))
        let fast = try Self.iperf(lab, from: containers[1].namespace, to: containers[0])
        let after = try hosts[0].metrics(port: 18011)
        let (datagrams, packets) = (try Self.udpDatagramsReceived(in: hosts[0].namespace) - datagramsBefore,
                                    Self.packets("in", in: after) - packetsBefore)
        #expect(fast > 1e6, "iperf3 fast path → fast path \(fast / 1e6) Mbit/s")
        #expect(packets > 1_000 && datagrams < packets / 2, "h1's socket took \(datagrams) datagrams for \(packets) packets")
        let dropsAfter = after.split(separator: "\n").filter { $0.hasPrefix("flannel_udp_drops_total") }
        #expect(dropsAfter.allSatisfy { $0.hasSuffix(" 0") }, "\(dropsAfter)")
    }
}
