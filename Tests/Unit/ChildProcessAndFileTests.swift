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
