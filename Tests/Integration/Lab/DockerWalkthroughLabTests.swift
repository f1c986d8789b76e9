import Agent
import Foundation
import NetnsLab
import Testing

/// The walkthrough on Debian's real docker engine (`netns-lab demo --docker`): flanneld →
/// subnet.env → mk-docker-opts.sh → dockerd → docker run, a ping across with ttl=60, and the
/// walkthrough's four-row path table with docker's own masquerade rule on the flannel0 row.
@Suite("The walkthrough on the docker engine (lab)", .serialized, .enabled(if: LabGate.shouldRun))
struct DockerWalkthroughLabTests {
    /// False (after recording a failure under CI) when docker or busybox is missing.
    static func dockerIsInstalled(sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        let missing = DockerEngine.missingTools
        guard missing.isEmpty else {
            if LabGate.isCI { Issue.record("docker in the lab needs \(missing.joined(separator: ", "))", sourceLocation: sourceLocation) }
            return false
        }
        return true
    }

    @Test func theWalkthroughRunsOnDockerItself() throws {
        guard LabGate.requireRoot(), Self.dockerIsInstalled() else { return }
        var lines: [String] = []
        let names = LabNames()
        let result = try DockerWalkthroughDemo(flanneld: SeedPingTests.flanneld, dist: WalkthroughTests.dist) { lines.append($0) }
            .run(names: names)
        let text = lines.joined(separator: "\n")
        #expect(result.subnets.count == 2 && result.containers.count == 2, "\(text)")
        for (index, subnet) in result.subnets.enumerated() {
            let bip = "\(subnet.firstHost)/\(subnet.prefixLength)"
            // mk-docker-opts.sh's options, and docker0 exactly as docker made it from them.
            #expect(result.dockerOptions[index] == "DOCKER_NETWORK_OPTIONS=\" --bip=\(bip) --ip-masq=true --mtu=1472\"", "\(result.dockerOptions)")
            #expect(result.docker0[index].address == bip && result.docker0[index].mtu == 1472, "\(result.docker0)")
            #expect(subnet.contains(result.containers[index].address) && result.containers[index].mtu == 1472, "\(result.containers)")
            // docker's own rule (--ip-masq=true), not one of ours.
            #expect(result.natPostrouting[index].contains("-A POSTROUTING -s \(subnet) ! -o docker0 -j MASQUERADE"), "\(result.natPostrouting[index])")
        }
        // Two proxy hops and two forwards: ttl=60, as in the walkthrough.
        #expect(result.ping.contains("ttl=60") && result.ping.contains("3 packets received"), "\(result.ping)")

        let (source, destination) = (result.containers[0].address, result.containers[1].address)
        let flows = result.flows.map(\.flow)
        #expect(result.flows.map(\.device).dropFirst().elementsEqual(["docker0", "flannel0", "eth0"]), "\(result.flows)")
        #expect(result.flows.first?.device.hasPrefix("veth") == true, "\(result.flows)")
        #expect(flows == [
            "\(source) > \(destination): ICMP echo request",
            "\(source) > \(destination): ICMP echo request",
            // docker's MASQUERADE rewrote the source to flannel0's address, the walkthrough's row.
            "\(result.subnets[0].address) > \(destination): ICMP echo request",
            "\(result.hostAddresses[0]).8285 > \(result.hostAddresses[1]).8285: UDP, length 84",
        ], "\(text)")

        try Self.expectNothingLeft(of: names.run)
    }

    /// A run that dies with docker up (no `destroy`): `Lab.clean` (`netns-lab clean`) still
    /// kills the containers, which live in namespaces of docker's making, and removes their
    /// cgroups with the rest.
    @Test func cleanRemovesWhatACrashedDockerRunLeft() throws {
        guard LabGate.requireRoot(), Self.dockerIsInstalled() else { return }
        let names = LabNames()
        let lab = try Lab(names: names)
        defer { lab.destroy() }
        try lab.etcdctl(["put", "/coreos.com/network/config", #"{ "Network": "10.1.0.0/16" }"#])
        let host = try lab.addHost(1)
        try host.startAgent(binary: SeedPingTests.flanneld)
        let subnet = try host.waitForSubnetFile().ipv4Pair().subnet
        let engine = try host.startDocker(options: ["--bip=\(subnet.firstHost)/\(subnet.prefixLength)", "--mtu=1472"])
        try engine.importBusybox()
        let container = try engine.runContainer(named: "h1c1")
        let pid = Int32(try engine.docker(["inspect", "-f", "{{.State.Pid}}", container.name]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(pid > 0 && Self.isRunning(pid), "the container's process runs")

        let removed = Lab.clean(run: names.run)
        #expect(removed.contains { $0.hasSuffix("/\(names.run)-h1") }, "\(removed)")
        // Killed, it may stay a zombie for a moment until its new parent reaps it.
        #expect(throws: Never.self, "the container's process (\(pid)) is gone") {
            try Poll.until("the container's process \(pid) to end", timeout: .seconds(10)) { !Self.isRunning(pid) }
        }
        try Self.expectNothingLeft(of: names.run)
    }

    /// Whether `pid` exists and is not a zombie.
    static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
        return state != "Z" && state != "X"
    }

    /// No namespace, cgroup, process or file of the run is left.
    static func expectNothingLeft(of run: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(!(try CommandRunner.check(["ip", "netns", "list"]).stdout.contains(run)), sourceLocation: sourceLocation)
        let cgroups = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []
        let leftCgroups = cgroups.filter { FileManager.default.fileExists(atPath: "/sys/fs/cgroup/\($0)/\(run)-h1") }
        #expect(leftCgroups.isEmpty, "cgroups left: \(leftCgroups)", sourceLocation: sourceLocation)
        let processes = try CommandRunner.check(["ps", "-eo", "args"]).stdout.split(separator: "\n").filter { $0.contains(run) }
        #expect(processes.isEmpty, "\(processes)", sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(run)"), sourceLocation: sourceLocation)
    }
}
