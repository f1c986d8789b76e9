import Foundation
import NetnsLab
import Testing

/// A lab whose etcd is a cluster, driven from the command line: `netns-lab up --etcd-members 3`
/// and its status, a killed leader replaced by another; and the 50-host control-plane bench
/// (`netns-lab scale-bench`) on a small cluster, lab and simulator side by side.
@Suite("etcd cluster in the lab (commands)", .serialized, .enabled(if: LabGate.shouldRun))
struct EtcdClusterLabTests {
    func netnsLab(_ arguments: [String]) throws -> CommandResult {
        try CommandRunner.run([LabCommandTests.binary] + arguments)
    }

    /// The run tag in "… lab fl3a9c1e: …" anywhere in `output`.
    static func runTag(in output: String) -> String? {
        let words = output.split(whereSeparator: { $0 == " " || $0 == "\n" })
        return zip(words, words.dropFirst()).lazy.compactMap { word, next -> String? in
            guard word == "lab" else { return nil }
            let tag = String(next.trimmingCharacters(in: CharacterSet(charactersIn: ":")))
            return LabNames.isRunTag(tag) ? tag : nil
        }.first
    }

    static func memberLines(_ status: String) -> [Substring] {
        status.split(separator: "\n").filter { $0.hasPrefix("  m") && $0.contains(":2379 in ") }
    }

    @Test func upWithThreeMembersShowsEachAndWhoLeadsAndSurvivesTheLeadersDeath() throws {
        guard LabGate.requireRoot() else { return }
        let up = try netnsLab(["up", "--hosts", "2", "--etcd-members", "3", "--backend", "vxlan"])
        try #require(up.succeeded, "\(up.stdout)\n\(up.stderr)")
        let run = try #require(Self.runTag(in: up.stdout), "no run tag in `up`'s output: \(up.stdout)")
        defer { Lab.clean(run: run) }
        #expect(up.stdout.contains("etcd members m1 http://192.0.2.2:2379, m2 http://192.0.2.3:2379, m3 http://192.0.2.4:2379"), "\(up.stdout)")

        let status = try netnsLab(["status", "--run", run]).stdout
        #expect(status.contains("etcd: a cluster of 3 members"), "\(status)")
        let members = Self.memberLines(status)
        #expect(members.count == 3 && members.allSatisfy { $0.contains(": healthy, ") }, "\(members)")
        let leaders = members.filter { $0.contains("LEADER") }
        try #require(leaders.count == 1, "exactly one leader: \(members)")
        let leader = try #require(leaders[0].split(separator: " ").first.flatMap { Int($0.dropFirst()) })
        // The agents were given every member.
        let agent = try #require(RunningLab.processes(named: "flanneld", in: Namespace(name: "\(run)-h1")).first)
        let arguments = try String(contentsOfFile: "/proc/\(agent)/cmdline", encoding: .utf8).split(separator: "\0")
        #expect(arguments.contains("--etcd-endpoints=http://192.0.2.2:2379,http://192.0.2.3:2379,http://192.0.2.4:2379"), "\(arguments)")
        #expect(try netnsLab(["ping", "h1c1", "h2c1", "--run", run, "--count", "1"]).succeeded)

        // The leader's etcd dies: another member leads, and the agents' subnets still ping.
        let namespace = Namespace(name: "\(run)-\(LabEtcdMember.role(ofMember: leader))")
        for pid in RunningLab.processes(named: "etcd", in: namespace) { kill(pid, SIGKILL) }
        var after: [Substring] = []
        try Poll.until("another member to lead", timeout: .seconds(20), interval: .milliseconds(250)) {
            after = Self.memberLines(try netnsLab(["status", "--run", run]).stdout)
            return after.contains { $0.contains("LEADER") && !$0.hasPrefix("  m\(leader) ") }
        }
        #expect(after.first { $0.hasPrefix("  m\(leader) ") }?.hasSuffix("not answering") == true, "\(after)")
        #expect(try netnsLab(["ping", "h2c1", "h1c1", "--run", run, "--count", "1"]).succeeded)

        let even = try netnsLab(["up", "--etcd-members", "2"])
        #expect(!even.succeeded && even.stderr.contains("--etcd-members must be 1, 3 or 5"), "\(even.stderr)")
        #expect(try netnsLab(["down", "--run", run]).succeeded)
    }

    @Test func scaleBenchRecordsTheLabAndTheSimulatorSideBySide() throws {
        guard LabGate.requireRoot() else { return }
        let record = FileManager.default.temporaryDirectory.appendingPathComponent("fl-scale-\(UUID().uuidString).md")
        defer { try? FileManager.default.removeItem(at: record) }
        let bench = try netnsLab(["scale-bench", "--hosts", "4", "--joins", "2", "--backends", "vxlan", "--rest", "10", "--lease-ttl", "10",
                                  "--record", record.path])
        #expect(bench.succeeded, "\(bench.stdout)\n\(bench.stderr)")
        let run = try #require(Self.runTag(in: bench.stdout), "no run tag in the bench's output: \(bench.stdout)")
        defer { Lab.clean(run: run) }
        #expect(!RunningLab.all().contains { $0.run == run }, "the bench left its lab \(run) behind")
        let recorded = (try? String(contentsOf: record, encoding: .utf8)) ?? ""
        #expect(recorded.contains("## control plane at 50 hosts"))
        #expect(recorded.contains("| figure | vxlan lab | vxlan simulator |"), "\(recorded)")
        let joinRow = recorded.split(separator: "\n").first { $0.hasPrefix("| join: agent start → reachable from every host") }
        let cells = joinRow?.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } ?? []
        #expect(cells.count == 3 && cells[1].contains(" ms / ") && cells[2].contains(" ms / "), "\(joinRow ?? "no join row")")
        #expect(recorded.contains("| etcd leader SIGKILLed → every agent renewed |"))
        #expect(recorded.contains("Goal, join p99 (agent start → reachable from every host, lab) ≤ 250 ms: vxlan "), "\(recorded)")
        // The History row: backend, hosts, then the figures.
        #expect(recorded.contains("| vxlan | 4 |"), "\(recorded)")

        let wrong = try netnsLab(["scale-bench", "--backends", "wireguard"])
        #expect(!wrong.succeeded && wrong.stderr.contains("--backends: wireguard is not measured here"), "\(wrong.stderr)")
    }
}
