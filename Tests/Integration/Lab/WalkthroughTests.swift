import Agent
import Foundation
import NetnsLab
import Testing

/// S14: the walkthrough verbatim, on real kernels with a real etcd (v2 API, TLS, client
/// certificates, a user and a role limited to `/flannel-test/*`) and agents started from
/// sysconfig files through `dist/flanneld-start`.
@Suite("S14 seed-walkthrough (lab)", .serialized, .enabled(if: LabGate.shouldRun))
struct WalkthroughTests {
    static let dist = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("dist").path

    @Test func theWalkthroughWorksAsWritten() throws {
        guard LabGate.requireRoot() else { return }
        var lines: [String] = []
        let names = LabNames()
        let result = try WalkthroughDemo(flanneld: SeedPingTests.flanneld, dist: Self.dist) { lines.append($0) }.run(names: names)
        let text = lines.joined(separator: "\n")

        // etcdctl ls lists both leases; etcdctl get shows each host's PublicIP.
        #expect(result.subnetKeys.count == 2, "\(text)")
        #expect(result.subnetKeys.allSatisfy { $0.hasPrefix("/flannel-test/network/subnets/10.1.") && $0.hasSuffix(".0-24") }, "\(result.subnetKeys)")
        let publicIPs = Set(result.leaseValues.compactMap { try? LeaseAttributes.decode($0).publicIP })
        #expect(publicIPs == Set(result.hostAddresses), "\(result.leaseValues)")
        // Both agents settled on the v2 API by themselves (--etcd-api=auto).
        #expect(result.agentLogs.allSatisfy { $0.contains("using etcd's v2 API") }, "\(result.agentLogs)")

        // docker0 from the docker options: the lease's .1/24 and MTU 1472.
        #expect(result.dockerOptions.count == 2)
        for options in result.dockerOptions {
            #expect(options.hasPrefix("DOCKER_NETWORK_OPTIONS=\" --bip=10.1.") && options.hasSuffix(".1/24 --ip-masq=true --mtu=1472\""), "\(options)")
        }
        let subnets = Set(result.subnetKeys.map { $0.split(separator: "/").last.map(String.init) ?? "" })
        for docker0 in result.docker0 {
            #expect(docker0.mtu == 1472)
            let base = docker0.address.replacingOccurrences(of: ".1/24", with: ".0-24")
            #expect(subnets.contains(base), "docker0 \(docker0.address) is not the .1 of a lease (\(subnets))")
        }

        // The container ping across hosts answers with ttl=60.
        #expect(result.ping.contains("ttl=60") && result.ping.contains("3 received"), "\(result.ping)")

        // ps shows the options, never the password.
        #expect(result.processLines.count == 2, "\(result.processLines)")
        #expect(result.processLines.contains { $0.contains("-etcd-username=flannel-test") && $0.contains("-etcd-password-file=") })
        #expect(result.processLines.allSatisfy { $0.contains("-etcd-cafile=") && $0.contains("-etcd-prefix=/flannel-test/network") })
        #expect(!result.processLines.contains { $0.contains(WalkthroughDemo.password) })
        #expect(!text.contains(WalkthroughDemo.password))

        // A user without the role is refused with a message that says so.
        #expect(result.refusalStatus != 0)
        #expect(result.refusal.contains("refused access to /flannel-test/network/config for user \"intruder\""), "\(result.refusal)")
        #expect(result.refusal.contains("-readwrite"))

        let left = try CommandRunner.check(["ip", "netns", "list"]).stdout
        #expect(!left.contains(names.run))
    }

    /// The docker options script as upstream's: combined and individual variables, and
    /// `--ip-masq=false` when flanneld masquerades itself.
    @Test func mkDockerOptsTurnsSubnetEnvIntoDockerOptions() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fl-mkdo-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let env = folder.appendingPathComponent("subnet.env").path
        let out = folder.appendingPathComponent("docker").path
        try "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.82.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=false\n".write(toFile: env, atomically: true, encoding: .utf8)
        try CommandRunner.check(["bash", "\(Self.dist)/mk-docker-opts.sh", "-f", env, "-d", out, "-k", "DOCKER_NETWORK_OPTIONS"])
        #expect(try String(contentsOfFile: out, encoding: .utf8) == """
            DOCKER_OPT_BIP="--bip=10.1.82.1/24"
            DOCKER_OPT_IPMASQ="--ip-masq=true"
            DOCKER_OPT_MTU="--mtu=1472"
            DOCKER_NETWORK_OPTIONS=" --bip=10.1.82.1/24 --ip-masq=true --mtu=1472"

            """)
        try "FLANNEL_SUBNET=10.1.82.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n".write(toFile: env, atomically: true, encoding: .utf8)
        try CommandRunner.check(["bash", "\(Self.dist)/mk-docker-opts.sh", "-f", env, "-d", out, "-c"])
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "DOCKER_OPTS=\" --bip=10.1.82.1/24 --ip-masq=false --mtu=1472\"\n")
        let missing = try CommandRunner.run(["bash", "\(Self.dist)/mk-docker-opts.sh", "-f", folder.appendingPathComponent("nope").path, "-d", out])
        #expect(missing.status != 0 && missing.stderr.contains("is flanneld running"))
    }
}
