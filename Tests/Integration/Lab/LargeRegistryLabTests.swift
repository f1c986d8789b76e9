import Agent
import Foundation
import NetnsLab
import Testing

/// Two real agents joining a network whose etcd already holds 50,000 leases and three values
/// of 1.4 MB under `subnets/`: one unpaginated listing of that (~11 MB) is far above gRPC's
/// 4 MiB, which used to fail every agent at start-up for good.
@Suite("50,000 leases and junk values (lab)", .serialized, .enabled(if: LabGate.shouldRun))
struct LargeRegistryLabTests {
    static let leaseCount = 50_000

    /// Writes the leases with `etcdctl txn` (etcd takes 128 operations per transaction), in one
    /// shell inside the etcd namespace.
    static func seed(_ lab: Lab) throws {
        let folder = lab.directory.appendingPathComponent("seed")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var batch = 0
        for first in stride(from: 1, through: leaseCount, by: 128) {
            var text = "\n"  // no compares
            for index in first..<min(first + 128, leaseCount + 1) {
                let subnet = IPv4Network(address: IPv4Address(bits: 0x0A00_0000 | UInt32(index) << 8), prefixLength: 24)
                let publicIP = IPv4Address(bits: 0xCB00_7100 | UInt32(index % 250 + 1))  // 203.0.113.x: nobody sends there
                text += #"put /coreos.com/network/subnets/\#(subnet.address)-24 "{\"PublicIP\":\"\#(publicIP)\",\"BackendType\":\"udp\"}""# + "\n"
            }
            text += "\n\n"
            try text.write(to: folder.appendingPathComponent(String(format: "%05d.txn", batch)), atomically: true, encoding: .utf8)
            batch += 1
        }
        try String(repeating: "x", count: 1_400_000).write(to: folder.appendingPathComponent("junk"), atomically: true, encoding: .utf8)
        let etcdctl = "ETCDCTL_API=3 etcdctl --endpoints \(lab.etcdEndpoint)"
        let script = """
            set -e
            for f in "$1"/*.txn; do \(etcdctl) txn < "$f" > /dev/null; done
            for n in 1 2 3; do \(etcdctl) put /coreos.com/network/subnets/junk-$n < "$1/junk" > /dev/null; done
            """
        try CommandRunner.check(lab.etcdNamespace.command(["sh", "-c", script, "seed", folder.path]))
    }

    /// kB from `/proc/<pid>/status`'s line `field` (VmHWM: the peak resident set).
    static func status(_ pid: Int32, _ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        let line = text.split(separator: "\n").first { $0.hasPrefix(field + ":") }
        return line.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") }
    }

    @Test func agentsStartHoldALeaseAndPingPast50000LeasesAndHugeValues() throws {
        guard LabGate.requireRoot() else { return }
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config", #"{ "Network": "10.0.0.0/8", "Backend": { "Type": "udp" } }"#])
        try Self.seed(lab)
        let keys = try lab.etcdctl(["get", "--prefix", "/coreos.com/network/subnets/", "--keys-only"]).stdout
        #expect(keys.split(separator: "\n").count == Self.leaseCount + 3)

        let hosts = try (1...2).map { try lab.addHost($0) }
        let clock = ContinuousClock()
        let started = clock.now
        for host in hosts { try host.startAgent(binary: SeedPingTests.flanneld) }
        let files = try hosts.map { try $0.waitForSubnetFile(timeout: .seconds(120)) }
        let leaseHeld = clock.now - started
        #expect(files[0].subnet != files[1].subnet)
        for file in files { #expect(file.ipv4.address.bits >> 8 & 0xFFFF > UInt32(Self.leaseCount), "\(file.ipv4) is free") }

        let c1 = try hosts[0].addContainer()
        let c2 = try hosts[1].addContainer()
        try Poll.until("a ping across", timeout: .seconds(120), interval: .milliseconds(500)) {
            try c1.namespace.run(["ping", "-c", "1", "-W", "1", c2.address.description]).succeeded
        }
        let pinging = clock.now - started
        let back = try c2.namespace.run(["ping", "-c", "2", "-W", "2", c1.address.description])
        #expect(back.succeeded && back.stdout.contains("ttl=60"), "\(back.stdout)")

        for host in hosts {
            let log = host.agent?.log ?? ""
            #expect(host.agent?.isRunning == true, "\(log.suffix(800))")
            // The junk keys are reported (once each), never fatal; nothing else went wrong.
            #expect(log.contains(#"skipping lease "/coreos.com/network/subnets/junk-1""#), "\(log.suffix(800))")
            #expect(!log.contains("larger than"), "\(log.suffix(800))")
        }
        // What BENCHMARKS.md records (printed, not asserted: tests never judge wall-clock times).
        let peaks = hosts.compactMap { $0.agent?.processIdentifier.flatMap { Self.status($0, "VmHWM") } }
        print("LargeRegistryLabTests: \(Self.leaseCount) leases + 3 × 1.4 MB: both leases held after \(leaseHeld.secondsText), "
              + "first ping across after \(pinging.secondsText), flanneld peak RSS \(peaks.map { "\($0 / 1024) MB" }.joined(separator: ", "))")
    }
}
