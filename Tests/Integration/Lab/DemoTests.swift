import Foundation
import NetnsLab
import Testing

/// `netns-lab demo` (the README's first command) prints the walkthrough's tables from a real
/// run and leaves nothing behind.
@Suite("netns-lab demo (lab)", .serialized, .enabled(if: LabGate.shouldRun))
struct DemoTests {
    @Test(arguments: [false, true])
    func demoPrintsTheWalkthroughsTablesAndCleansUp(dockerMasquerade: Bool) throws {
        guard LabGate.requireRoot() else { return }
        var lines: [String] = []
        let names = LabNames()
        try SeedPingDemo(flanneld: SeedPingTests.flanneld, dockerMasquerade: dockerMasquerade) { lines.append($0) }.run(names: names)
        let text = lines.joined(separator: "\n")
        #expect(text.contains("| h1 | eth0:192.0.2.11 |"))
        #expect(text.contains("ttl=60"))
        #expect(text.contains("3 received"))
        #expect(text.contains("| eth0 | 192.0.2.11.8285 > 192.0.2.12.8285: UDP, length 84 |"), "\(text)")
        let flannel0 = lines.first { $0.hasPrefix("| flannel0 |") } ?? ""
        let veth = lines.first { $0.hasPrefix("| veth1 |") } ?? ""
        // Source on flannel0: the container's address, or with docker's masquerade rule the
        // host's flannel0 address (x.y.z.0), as in the walkthrough.
        let source = { (row: String) in row.split(separator: "|")[1].split(separator: " ").first.map(String.init) ?? "" }
        if dockerMasquerade {
            #expect(source(flannel0).hasSuffix(".0"), "\(flannel0)")
        } else {
            #expect(source(flannel0) == source(veth), "\(flannel0) vs \(veth)")
        }
        #expect(text.contains("{\"PublicIP\":\"192.0.2.11\",\"PublicIPv6\":null}"))
        let left = try CommandRunner.check(["ip", "netns", "list"]).stdout
        #expect(!left.contains(names.run))
    }
}
