import Foundation
import NetnsLab
import Testing

/// The `netns-lab` command line as a user drives it from a shell: a lab that outlives the
/// command that built it, looked at, pinged through, captured on and removed; and the bench.
@Suite("netns-lab commands (lab)", .serialized, .enabled(if: LabGate.shouldRun))
struct LabCommandTests {
    static var binary: String {
        URL(fileURLWithPath: SeedPingTests.flanneld).deletingLastPathComponent().appendingPathComponent("netns-lab").path
    }

    /// "lab fl3a9c1e: switch …" (the first progress line) → "fl3a9c1e".
    static func runTag(in output: String) -> String? {
        output.split(separator: "\n").lazy.compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard words.count > 1, words[0] == "lab" else { return nil }
            let tag = String(words[1].trimmingCharacters(in: CharacterSet(charactersIn: ":")))
            return LabNames.isRunTag(tag) ? tag : nil
        }.first
    }

    func netnsLab(_ arguments: [String]) throws -> CommandResult {
        try CommandRunner.run([Self.binary] + arguments)
    }

    @Test func upStatusPingCaptureDown() throws {
        guard LabGate.requireRoot() else { return }
        let up = try netnsLab(["up", "--hosts", "2"])
        try #require(up.succeeded, "\(up.stdout)\n\(up.stderr)")
        let run = try #require(Self.runTag(in: up.stdout), "no run tag in `up`'s output: \(up.stdout)")
        defer { Lab.clean(run: run) }
        #expect(up.stdout.contains("lab \(run) is up"))

        // `up` has exited; the lab, its etcd and its agents are still there.
        let status = try netnsLab(["status", "--run", run])
        #expect(status.succeeded)
        #expect(status.stdout.contains("in \(run)-etcd: healthy"), "\(status.stdout)")
        for (host, address) in [("h1", "192.0.2.11"), ("h2", "192.0.2.12")] {
            let row = status.stdout.split(separator: "\n").first { $0.hasPrefix("| \(host) |") } ?? ""
            #expect(row.contains("| \(address) | running (pid"), "\(row)")
            #expect(row.contains("mtu 1472 | flannel0 up, mtu 1472 | \(host)c1 10.1."), "\(row)")
        }
        #expect(status.stdout.contains(#"{"PublicIP":"192.0.2.12","PublicIPv6":null}"#))

        let ping = try netnsLab(["ping", "h1c1", "h2c1", "--run", run, "--count", "2"])
        #expect(ping.succeeded, "\(ping.stdout)\(ping.stderr)")
        #expect(ping.stdout.contains("ttl=60"))

        // A capture on h1's eth0 while h2's container pings h1's: the encapsulated echo.
        let capture = BackgroundProcess(
            command: [Self.binary, "capture", "h1", "--run", run, "--count", "2", "--seconds", "30", "udp", "port", "8285"],
            logFile: FileManager.default.temporaryDirectory.appendingPathComponent("\(run)-capture.log"))
        defer { try? FileManager.default.removeItem(at: capture.logFile) }
        try capture.start()
        try Poll.until("tcpdump to listen", timeout: .seconds(10)) { capture.log.contains("listening on eth0") }
        #expect(try netnsLab(["ping", "h2c1", "h1c1", "--run", run, "--count", "1"]).succeeded)
        try Poll.until("the capture to end", timeout: .seconds(10)) { !capture.isRunning }
        #expect(capture.exitStatus == 0)
        #expect(capture.log.contains("192.0.2.12.8285 > 192.0.2.11.8285: UDP, length 84"), "\(capture.log)")
        #expect(capture.log.contains("192.0.2.11.8285 > 192.0.2.12.8285: UDP, length 84"), "\(capture.log)")

        // Bad input: clear messages, nothing disturbed.
        let unknown = try netnsLab(["ping", "h1c9", "h2c1", "--run", run])
        #expect(!unknown.succeeded)
        #expect(unknown.stderr.contains("no h1c9 in lab \(run): its hosts and containers are h1, h1c1, h2, h2c1"), "\(unknown.stderr)")
        let missing = try netnsLab(["status", "--run", "fl000000"])
        #expect(!missing.succeeded)
        #expect(missing.stderr.contains("no lab fl000000 is up"), "\(missing.stderr)")
        let zero = try netnsLab(["up", "--hosts", "0"])
        #expect(!zero.succeeded)
        #expect(zero.stderr.contains("--hosts must be between 1 and 200"))
        #expect(try netnsLab(["ping", "h1c1", "h2c1", "--run", run, "--count", "1"]).succeeded)

        let agents = RunningLab.processes(named: "flanneld", in: Namespace(name: "\(run)-h1"))
        #expect(agents.count == 1)
        let down = try netnsLab(["down", "--run", run])
        #expect(down.succeeded, "\(down.stderr)")
        #expect(!RunningLab.all().contains { $0.run == run })
        #expect(!FileManager.default.fileExists(atPath: FileManager.default.temporaryDirectory.appendingPathComponent(run).path))
        // Killed: gone, or a zombie waiting for whoever adopted it (its parent, `up`, has exited).
        for pid in agents {
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            let state = stat.split(separator: ")").last?.split(separator: " ").first
            #expect(stat.isEmpty || state == "Z", "flanneld \(pid) survived `down`: \(stat)")
        }
    }

    @Test func benchMeasuresEveryPathAndRecordsTheTable() throws {
        guard LabGate.requireRoot() else { return }
        let record = FileManager.default.temporaryDirectory.appendingPathComponent("fl-bench-\(UUID().uuidString).md")
        defer { try? FileManager.default.removeItem(at: record) }
        let bench = try netnsLab(["bench", "--seconds", "1", "--passes", "1", "--record", record.path])
        #expect(bench.succeeded, "\(bench.stdout)\n\(bench.stderr)")
        let run = try #require(Self.runTag(in: bench.stdout), "no run tag in the bench's output: \(bench.stdout)")
        defer { Lab.clean(run: run) }
        let recorded = (try? String(contentsOf: record, encoding: .utf8)) ?? ""
        #expect(recorded.hasPrefix("# Benchmarks"))
        #expect(recorded.contains("`netns-lab bench --backend udp --seconds 1 --passes 1 --underlay-gro on`"))
        for title in UDPBenchReport.Path.allCases.map(\.title) {
            let row = recorded.split(separator: "\n").first { $0.hasPrefix("| \(title) |") }
            let throughput = row.flatMap { Double($0.split(separator: "|")[1].split(separator: " ")[0]) } ?? 0
            #expect(throughput > 0, "\(title): \(row ?? "no row")")
        }
        // The user-space paths report their forwarder's CPU and memory; the loss column is filled.
        for title in ["flanneld udp, offloads on", "flanneld udp, --udp-offload=off"] {
            let ours = recorded.split(separator: "\n").first { $0.hasPrefix("| \(title) |") } ?? ""
            #expect(ours.contains(" % of ") && ours.contains(" MB |"), "\(ours)")
        }
        #expect(recorded.contains("flanneld udp (offloads on) / plain loop, 1 stream: "))
        // The RTT target is judged on 4 rounds per pass with a side loop forwarding beside flanneld.
        #expect(recorded.contains("RTT side by side (4 rounds, flanneld and a side plain loop on flannel1 forwarding at once"), "\(recorded)")
        #expect(!RunningLab.all().contains { $0.run == run }, "the bench left its lab \(run) behind")

        let wrong = try netnsLab(["bench", "--backend", "ipip"])
        #expect(!wrong.succeeded)
        #expect(wrong.stderr.contains("--backend ipip is not a backend this agent has; use udp, vxlan, host-gw or wireguard"), "\(wrong.stderr)")
    }

    /// `--rtt-only`: the side-by-side RTT rounds alone, without the throughput passes.
    @Test func benchRTTOnlyRunsJustTheSideBySideRounds() throws {
        guard LabGate.requireRoot() else { return }
        let record = FileManager.default.temporaryDirectory.appendingPathComponent("fl-bench-\(UUID().uuidString).md")
        defer { try? FileManager.default.removeItem(at: record) }
        let bench = try netnsLab(["bench", "--rtt-only", "--rtt-rounds", "2", "--record", record.path])
        #expect(bench.succeeded, "\(bench.stdout)\n\(bench.stderr)")
        let run = try #require(Self.runTag(in: bench.stdout), "no run tag in the bench's output: \(bench.stdout)")
        defer { Lab.clean(run: run) }
        #expect(bench.stdout.contains("rtt round 2/2 at once: flanneld median "), "\(bench.stdout)")
        #expect(!bench.stdout.contains("pass 1/"), "throughput passes ran: \(bench.stdout)")
        let recorded = (try? String(contentsOf: record, encoding: .utf8)) ?? ""
        #expect(recorded.contains("## udp backend, RTT only\n"), "\(recorded)")
        #expect(recorded.contains("### Latest") && recorded.contains("### History"), "a record, not a journal: \(recorded)")
        #expect(recorded.contains("`netns-lab bench --backend udp --rtt-only --rtt-rounds 2 --underlay-gro on`"), "\(recorded)")
        #expect(recorded.contains("RTT side by side (2 rounds, flanneld and a side plain loop on flannel1 forwarding at once"), "\(recorded)")
        #expect(recorded.contains(" µs, mean "), "\(recorded)")
        #expect(!recorded.contains("| path |"), "an RTT-only run has no throughput table: \(recorded)")
        #expect(!RunningLab.all().contains { $0.run == run }, "the bench left its lab \(run) behind")
    }

    /// Options a bench cannot honour are refused before anything is set up (no root needed).
    @Test func benchRefusesRTTOptionsItCannotHonour() throws {
        let vxlan = try netnsLab(["bench", "--backend", "vxlan", "--rtt-only"])
        #expect(!vxlan.succeeded)
        #expect(vxlan.stderr.contains("--rtt-only is for --backend udp"), "\(vxlan.stderr)")
        #expect(vxlan.stderr.contains("drop --rtt-only or use --backend udp"), "\(vxlan.stderr)")
        let hostGW = try netnsLab(["bench", "--backend", "host-gw", "--rtt-rounds", "8"])
        #expect(!hostGW.succeeded)
        #expect(hostGW.stderr.contains("--rtt-rounds is for --backend udp"), "\(hostGW.stderr)")
        let none = try netnsLab(["bench", "--rtt-rounds", "0"])
        #expect(!none.succeeded)
        #expect(none.stderr.contains("--rtt-rounds must be 1…100, got 0"), "\(none.stderr)")
    }

    /// The kernel backends' bench: flanneld's path against the same entries built by hand.
    @Test func vxlanBenchComparesTheAgentsPathWithTheHandBuiltOne() throws {
        guard LabGate.requireRoot() else { return }
        let record = FileManager.default.temporaryDirectory.appendingPathComponent("fl-bench-\(UUID().uuidString).md")
        defer { try? FileManager.default.removeItem(at: record) }
        let bench = try netnsLab(["bench", "--backend", "vxlan", "--seconds", "1", "--passes", "2", "--record", record.path])
        #expect(bench.succeeded, "\(bench.stdout)\n\(bench.stderr)")
        let run = try #require(Self.runTag(in: bench.stdout), "no run tag in the bench's output: \(bench.stdout)")
        defer { Lab.clean(run: run) }
        let recorded = (try? String(contentsOf: record, encoding: .utf8)) ?? ""
        #expect(recorded.contains("`netns-lab bench --backend vxlan --seconds 1 --passes 2 --underlay-gro on`"))
        for title in ["flanneld vxlan", "vxlan by hand (ip, bridge)", "underlay eth0↔eth0"] {
            let row = recorded.split(separator: "\n").first { $0.hasPrefix("| \(title) |") }
            let throughput = row.flatMap { Double($0.split(separator: "|")[1].split(separator: " ")[0]) } ?? 0
            #expect(throughput > 0, "\(title): \(row ?? "no row")")
        }
        #expect(recorded.contains("flanneld vxlan / by hand, 1 stream: "))
        // Two passes: the agents handed the path over to the hand-built one and took it back.
        #expect(bench.stdout.contains("pass 2/2  flanneld vxlan: 1 stream"), "\(bench.stdout)")
        #expect(!RunningLab.all().contains { $0.run == run }, "the bench left its lab \(run) behind")
    }
}
