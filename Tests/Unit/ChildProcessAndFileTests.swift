@testable import AgentCore
@testable import Agent
import Foundation
import Testing

/// What the agent hands to the tools it runs, and how it writes subnet.env.
@Suite("child environment and subnet.env writing")
struct ChildProcessAndFileTests {
    /// iptables and nft get PATH and the C locale, never our secrets.
    @Test func toolsGetAScrubbedEnvironment() throws {
        let ours = ["PATH": "/usr/sbin:/usr/bin", "FLANNELD_ETCD_PASSWORD": "mypassword", "HOME": "/root", "LANG": "de_DE.UTF-8"]
        #expect(RuleTool.environment(from: ours) == ["PATH": "/usr/sbin:/usr/bin", "LC_ALL": "C"])
        #expect(RuleTool.environment(from: [:])["PATH"]?.contains("/usr/sbin") == true)
        let shown = try RuleTool.run(["env"], input: nil, installHint: "")
        #expect(Set(shown.split(separator: "\n").map { String($0.split(separator: "=").first ?? "") }) == ["PATH", "LC_ALL"], "\(shown)")
    }

    /// A megabyte in and out at once (no pipe fills up), exit statuses, signals, and a child
    /// that starts with no signal blocked or ignored and no descriptor beyond 0–2 (the rule
    /// tools must die on SIGTERM and SIGPIPE like any command).
    @Test func toolsRunCleanAndTheirOutputComesBackWhole() throws {
        signal(SIGPIPE, SIG_IGN)  // as the daemon does at start
        let megabyte = String(repeating: "0123456789abcdef\n", count: 65536)
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString).err").path
        defer { unlink(errors) }
        let environment = ["PATH": "/usr/bin:/bin"]
        let echoed = try ChildProcess.run(["/bin/cat"], environment: environment, input: megabyte, errorsPath: errors)
        #expect(echoed.status == 0 && echoed.output == megabyte)
        #expect(try ChildProcess.run(["/bin/sh", "-c", "exit 3"], environment: environment, input: nil, errorsPath: errors).status == 3)
        #expect(try ChildProcess.run(["/bin/sh", "-c", "kill -9 $$"], environment: environment, input: nil, errorsPath: errors).status == 128 + 9)
        // A child that stops reading: its early exit is not our crash.
        let early = try ChildProcess.run(["/usr/bin/head", "-c", "1"], environment: environment, input: megabyte, errorsPath: errors)
        #expect(early.status == 0 && early.output == "0")
        let status = try ChildProcess.run(["/bin/sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status; ls /proc/self/fd"],
                                          environment: environment, input: nil, errorsPath: errors).output
        func mask(_ name: String) -> UInt64? {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }.flatMap { UInt64($0.split(separator: "\t").last ?? "", radix: 16) }
        }
        // Signal n is bit n-1. (glibc's own two internal signals, 32 and 33, are beyond reach and beside the point.)
        let userSignals: UInt64 = (1 << 31) - 1
        #expect(mask("SigBlk") == 0, "\(status)")
        #expect(mask("SigIgn").map { $0 & userSignals } == 0, "SIGINT, SIGPIPE, SIGTERM … at their defaults: \(status)")
        let descriptors = status.split(separator: "\n").filter { $0.allSatisfy(\.isNumber) }.compactMap { Int($0) }
        #expect(descriptors.allSatisfy { $0 <= 3 }, "only 0–2 (and ls's own) in the child: \(descriptors)")
        try "complaint".write(toFile: errors, atomically: true, encoding: .utf8)
        _ = try ChildProcess.run(["/bin/sh", "-c", "echo oops >&2"], environment: environment, input: nil, errorsPath: errors)
        #expect(try String(contentsOfFile: errors, encoding: .utf8) == "oops\n", "stderr replaces the file's content")
    }

    @Test func subnetFileIsWholeWithItsModeAndNothingLeftBehind() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("flannel-subnet-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("subnet.env").path
        let file = SubnetFile(network: IPv4Network("10.1.0.0/16")!, subnet: IPv4Network("10.1.82.0/24")!, mtu: 1472, ipMasq: true)
        try SubnetFileWriter.write(file, to: path)
        try SubnetFileWriter.write(file, to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == file.rendered)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o644)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["subnet.env"], "no temporary file left")
    }

    /// A link planted at the path is replaced, and what it pointed to is left alone.
    @Test func aLinkAtThePathIsReplacedNotFollowed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("flannel-subnet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let victim = folder.appendingPathComponent("victim").path
        try "precious\n".write(toFile: victim, atomically: true, encoding: .utf8)
        let path = folder.appendingPathComponent("subnet.env").path
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: victim)
        let file = SubnetFile(network: IPv4Network("10.1.0.0/16")!, subnet: IPv4Network("10.1.82.0/24")!, mtu: 1472, ipMasq: false)
        try SubnetFileWriter.write(file, to: path)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) == nil, "subnet.env is a file of its own now")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == file.rendered)
    }
}
