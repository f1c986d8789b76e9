import Foundation
import NetnsLab
import Testing

/// The kernel features the lab builds on, checked for real: two namespaces joined by a veth
/// pair with documentation addresses ping each other, and nothing leaks to the root
/// namespace. Runs as root; skipped without root outside CI, failed without root in CI.
@Suite("Lab prerequisites: namespaces and veth", .serialized, .enabled(if: LabGate.shouldRun))
struct NamespaceLabTests {
    @Test func twoNamespacesPingOverAVethAndCleanUp() throws {
        guard LabGate.requireRoot() else { return }
        let names = LabNames()
        let left = names.namespace("a")
        let right = names.namespace("b")
        defer {
            _ = try? CommandRunner.run(["ip", "netns", "del", left])
            _ = try? CommandRunner.run(["ip", "netns", "del", right])
        }
        try CommandRunner.check(["ip", "netns", "add", left])
        try CommandRunner.check(["ip", "netns", "add", right])
        let leftLink = names.interface("va")
        let rightLink = names.interface("vb")
        try CommandRunner.check(["ip", "link", "add", leftLink, "netns", left, "type", "veth", "peer", "name", rightLink, "netns", right])
        for (namespace, link, address) in [(left, leftLink, "192.0.2.1/24"), (right, rightLink, "192.0.2.2/24")] {
            try CommandRunner.check(["ip", "-n", namespace, "addr", "add", address, "dev", link])
            try CommandRunner.check(["ip", "-n", namespace, "link", "set", link, "up"])
            try CommandRunner.check(["ip", "-n", namespace, "link", "set", "lo", "up"])
        }
        // The link needs a moment to come up: poll, never sleep.
        try Poll.until("192.0.2.2 to answer from \(left)", timeout: .seconds(10), interval: .milliseconds(100)) {
            try CommandRunner.run(["ip", "netns", "exec", left, "ping", "-c", "1", "-W", "1", "192.0.2.2"]).succeeded
        }
        let ping = try CommandRunner.check(["ip", "netns", "exec", right, "ping", "-c", "1", "-W", "1", "192.0.2.1"])
        #expect(ping.stdout.contains("1 received"))

        // The root namespace never gets a route to lab addresses.
        let routes = try CommandRunner.check(["ip", "route", "get", "192.0.2.2"])
        #expect(!routes.stdout.contains(leftLink) && !routes.stdout.contains(rightLink))

        try CommandRunner.check(["ip", "netns", "del", left])
        try CommandRunner.check(["ip", "netns", "del", right])
        let remaining = try CommandRunner.check(["ip", "netns", "list"]).stdout
        #expect(!remaining.contains(names.run))
    }

    @Test func labNamesAreUniqueAndFitInterfaceLimits() {
        let a = LabNames()
        let b = LabNames()
        #expect(a.run != b.run)
        #expect(a.run.hasPrefix(LabNames.prefix))
        #expect(a.interface("h1eth0-peer").count <= 15)
    }
}
