import Foundation
import Testing

/// `dist/mk-docker-opts.sh` against upstream flannel's `dist/mk-docker-opts.sh`. Every golden
/// below (status, output file byte for byte, stderr) was recorded by running upstream's script
/// at v0.7.0 and at v0.20.2 as `/bin/sh` (dash, and bash --posix) with the same subnet.env,
/// environment, options and route table. Both versions gave the same output, except that only
/// v0.20.2 has the route check (the `route-*` rows follow v0.20.2: file written, then exit 1)
/// and the shells word getopts' complaints differently (the dash test checks those loosely).
///
/// Rows marked `ours:` are the deliberate differences (see the script's header): a missing or
/// non-flannel subnet.env is an error where upstream writes `DOCKER_OPTS=""` and exits 0; the
/// route check matches the exact network (upstream's grep also refuses on 110.1.82.0/24), is
/// silent without `ip` (upstream prints "ip: command not found") and adds what to do to
/// upstream's message. (The file is also written whole and renamed: no temporary file is left.)
/// Upstream run as `bash script.sh` (not as sh) is not a reference: bash's `set` then lists
/// its usage function and it writes words of the usage text as options.
@Suite("mk-docker-opts.sh against upstream's")
struct MkDockerOptsTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let script = repository.appendingPathComponent("dist/mk-docker-opts.sh").path

    /// What stderr should hold; `SCRIPT` stands for the script's path (its `$0`).
    enum Stderr: Sendable {
        case nothing
        case exactly(String)
        /// getopts' complaint as bash words it (nil: none), then the usage text.
        case usage(complaint: String?)
        /// Upstream's message (exactly, as its first line), then ours saying what to do.
        case upstreamThen(String, mentioning: [String])
        /// Ours alone (a deliberate difference).
        case ours(mentioning: [String])
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let subnetEnv: String?
        let environment: [String: String]
        /// `SUBNET_ENV` and `DOCKER_ENV` stand for the files in the case's folder.
        let arguments: [String]
        /// What the fake `ip route show` prints; nil: no `ip` on PATH.
        let routes: [String]?
        let status: Int32
        /// The output file, byte for byte; nil: not written.
        let file: String?
        let stderr: Stderr
        var testDescription: String { name }

        init(_ name: String, _ subnetEnv: String?, environment: [String: String] = [:], _ arguments: [String],
             routes: [String]? = Inputs.routes, status: Int32 = 0, file: String?, stderr: Stderr = .nothing) {
            self.name = name
            self.subnetEnv = subnetEnv
            self.environment = environment
            self.arguments = arguments
            self.routes = routes
            self.status = status
            self.file = file
            self.stderr = stderr
        }
    }

    enum Inputs {
        static let walkthrough = "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.82.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=false\n"
        static let flanneldMasquerades = "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.82.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n"
        static let invalidIPMasq = "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.82.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=yes\n"
        static let noMTU = "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.82.1/24\nFLANNEL_IPMASQ=false\n"
        static let noIPMasq = "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.82.1/24\nFLANNEL_MTU=1472\n"
        static let withOption = walkthrough + "DOCKER_OPT_LOG=--log-level=warn\n"
        static let slash25 = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.129/25\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n"

        static let routes = [
            "default via 192.168.0.1 dev eth0", "10.1.0.0/16 dev flannel0",
            "10.1.82.0/24 dev docker0 proto kernel scope link src 10.1.82.1",
            "192.168.0.0/24 dev eth0 proto kernel scope link src 192.168.0.2",
        ]
        static let routedAway = [
            "default via 192.168.0.1 dev eth0", "10.1.0.0/16 dev flannel0", "10.1.82.0/24 via 192.168.0.3 dev eth0",
            "192.168.0.0/24 dev eth0 proto kernel scope link src 192.168.0.2",
        ]
        static let lookalike = [
            "default via 192.168.0.1 dev eth0", "10.1.0.0/16 dev flannel0", "110.1.82.0/24 via 192.168.0.3 dev eth0",
            "192.168.0.0/24 dev eth0 proto kernel scope link src 192.168.0.2",
        ]
        static let slash25RoutedAway = [
            "default via 192.168.0.1 dev eth0", "10.244.3.128/25 via 192.168.0.7 dev eth0 proto static",
            "192.168.0.0/24 dev eth0 proto kernel scope link src 192.168.0.2",
        ]

        static let walkthroughOutput = """
            DOCKER_OPT_BIP="--bip=10.1.82.1/24"
            DOCKER_OPT_IPMASQ="--ip-masq=true"
            DOCKER_OPT_MTU="--mtu=1472"
            DOCKER_OPTS=" --bip=10.1.82.1/24 --ip-masq=true --mtu=1472"

            """
        static let usage = """
            SCRIPT [-f FLANNEL-ENV-FILE] [-d DOCKER-ENV-FILE] [-i] [-c] [-m] [-k COMBINED-KEY]

            Generate Docker daemon options based on flannel env file
            OPTIONS:
            \t-f\tPath to flannel env file. Defaults to /run/flannel/subnet.env
            \t-d\tPath to Docker env file to write to. Defaults to /run/docker_opts.env
            \t-i\tOutput each Docker option as individual var. e.g. DOCKER_OPT_MTU=1500
            \t-c\tOutput combined Docker options into DOCKER_OPTS var
            \t-k\tSet the combined options key to this value (default DOCKER_OPTS=)
            \t-m\tDo not output --ip-masq (useful for older Docker version)


            """
    }

    static let cases: [Case] = [
        Case("walkthrough-defaults", Inputs.walkthrough, ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], file: Inputs.walkthroughOutput),
        Case("flanneld-masquerades", Inputs.flanneldMasquerades, ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], file: """
            DOCKER_OPT_BIP="--bip=10.1.82.1/24"
            DOCKER_OPT_IPMASQ="--ip-masq=false"
            DOCKER_OPT_MTU="--mtu=1472"
            DOCKER_OPTS=" --bip=10.1.82.1/24 --ip-masq=false --mtu=1472"

            """),
        Case("key-walkthrough", Inputs.walkthrough, ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV", "-k", "DOCKER_NETWORK_OPTIONS"], file: """
            DOCKER_OPT_BIP="--bip=10.1.82.1/24"
            DOCKER_OPT_IPMASQ="--ip-masq=true"
            DOCKER_OPT_MTU="--mtu=1472"
            DOCKER_NETWORK_OPTIONS=" --bip=10.1.82.1/24 --ip-masq=true --mtu=1472"

            """),
        Case("key-already-set", Inputs.walkthrough, environment: ["DOCKER_NETWORK_OPTIONS": "--dns=10.0.0.10"],
             ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV", "-k", "DOCKER_NETWORK_OPTIONS"], file: """
            DOCKER_OPT_BIP="--bip=10.1.82.1/24"
            DOCKER_OPT_IPMASQ="--ip-masq=true"
            DOCKER_OPT_MTU="--mtu=1472"
            DOCKER_NETWORK_OPTIONS="--dns=10.0.0.10  --bip=10.1.82.1/24 --ip-masq=true --mtu=1472"

            """),
        Case("default-key-already-set", Inputs.walkthrough, environment: ["DOCKER_OPTS": "--debug"], ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], file: """
            DOCKER_OPT_BIP="--bip=10.1.82.1/24"
            DOCKER_OPT_IPMASQ="--ip-masq=true"
            DOCKER_OPT_MTU="--mtu=1472"
            DOCKER_OPTS="--debug  --bip=10.1.82.1/24 --ip-masq=true --mtu=1472"

            """),
        Case("no-ip-masq", Inputs.walkthrough, ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV", "-m"], file: """
            DOCKER_OPT_BIP="--bip=10.1.82.1/24"
            DOCKER_OPT_MTU="--mtu=1472"
            DOCKER_OPTS=" --bip=10.1.82.1/24 --mtu=1472"

            """),
        Case("no-ip-masq-flanneld-masquerades", Inputs.flanneldMasquerades, ["-m", "-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], file: """
            DOCKER_OPT_BIP="--bip=10.1.82.1/24"
            DOCKER_OPT_MTU="--mtu=1472"
            DOCKER_OPTS=" --bip=10.1.82.1/24 --mtu=1472"

            """),
        Case("individual-only", Inputs.walkthrough, ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV", "-i"], file: """
            DOCKER_OPT_BIP="--bip=10.1.82.1/24"
            DOCKER_OPT_IPMASQ="--ip-masq=true"
            DOCKER_OPT_MTU="--mtu=1472"

            """),
        Case("combined-only", Inputs.flanneldMasquerades, ["-c", "-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], file: """
            DOCKER_OPTS=" --bip=10.1.82.1/24 --ip-masq=false --mtu=1472"

            """),
        Case("individual-and-combined", Inputs.walkthrough, ["-i", "-c", "-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], file: Inputs.walkthroughOutput),
        Case("combined-no-masq-key", Inputs.walkthrough, ["-cm", "-k", "DOCKER_NETWORK_OPTIONS", "-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], file: """
            DOCKER_NETWORK_OPTIONS=" --bip=10.1.82.1/24 --mtu=1472"

            """),
        Case("ipmasq-invalid", Inputs.invalidIPMasq, ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], status: 1, file: nil,
             stderr: .exactly("Invalid value of FLANNEL_IPMASQ: yes\n")),
        Case("ipmasq-invalid-ignored-with-m", Inputs.invalidIPMasq, ["-m", "-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], file: """
            DOCKER_OPT_BIP="--bip=10.1.82.1/24"
            DOCKER_OPT_MTU="--mtu=1472"
            DOCKER_OPTS=" --bip=10.1.82.1/24 --mtu=1472"

            """),
        Case("no-mtu", Inputs.noMTU, ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], file: """
            DOCKER_OPT_BIP="--bip=10.1.82.1/24"
            DOCKER_OPT_IPMASQ="--ip-masq=true"
            DOCKER_OPTS=" --bip=10.1.82.1/24 --ip-masq=true"

            """),
        Case("no-ipmasq", Inputs.noIPMasq, ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], file: """
            DOCKER_OPT_BIP="--bip=10.1.82.1/24"
            DOCKER_OPT_MTU="--mtu=1472"
            DOCKER_OPTS=" --bip=10.1.82.1/24 --mtu=1472"

            """),
        Case("environment-options", Inputs.walkthrough,
             environment: ["DOCKER_OPT_DNS": "--dns=10.0.0.10", "DOCKER_OPT_STORAGE": "--storage-driver=overlay2"],
             ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV", "-k", "DOCKER_NETWORK_OPTIONS"], file: """
            DOCKER_OPT_BIP="--bip=10.1.82.1/24"
            DOCKER_OPT_DNS="--dns=10.0.0.10"
            DOCKER_OPT_IPMASQ="--ip-masq=true"
            DOCKER_OPT_MTU="--mtu=1472"
            DOCKER_OPT_STORAGE="--storage-driver=overlay2"
            DOCKER_NETWORK_OPTIONS=" --bip=10.1.82.1/24 --dns=10.0.0.10 --ip-masq=true --mtu=1472 --storage-driver=overlay2"

            """),
        Case("environment-options-order", Inputs.walkthrough,
             environment: ["DOCKER_OPT_ZZ": "z", "DOCKER_OPT_A1": "a1", "DOCKER_OPT_A": "a", "DOCKER_OPT_A_B": "a_b",
                           "DOCKER_OPT_AB": "ab", "DOCKER_OPT_EMPTY": ""],
             ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], file: """
            DOCKER_OPT_A="a"
            DOCKER_OPT_A1="a1"
            DOCKER_OPT_AB="ab"
            DOCKER_OPT_A_B="a_b"
            DOCKER_OPT_BIP="--bip=10.1.82.1/24"
            DOCKER_OPT_EMPTY=""
            DOCKER_OPT_IPMASQ="--ip-masq=true"
            DOCKER_OPT_MTU="--mtu=1472"
            DOCKER_OPT_ZZ="z"
            DOCKER_OPTS=" a a1 ab a_b --bip=10.1.82.1/24  --ip-masq=true --mtu=1472 z"

            """),
        Case("environment-mtu-kept", Inputs.noMTU, environment: ["DOCKER_OPT_MTU": "--mtu=1400"], ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], file: """
            DOCKER_OPT_BIP="--bip=10.1.82.1/24"
            DOCKER_OPT_IPMASQ="--ip-masq=true"
            DOCKER_OPT_MTU="--mtu=1400"
            DOCKER_OPTS=" --bip=10.1.82.1/24 --ip-masq=true --mtu=1400"

            """),
        Case("environment-ipmasq-kept-with-m", Inputs.walkthrough, environment: ["DOCKER_OPT_IPMASQ": "--ip-masq=false"],
             ["-m", "-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], file: """
            DOCKER_OPT_BIP="--bip=10.1.82.1/24"
            DOCKER_OPT_IPMASQ="--ip-masq=false"
            DOCKER_OPT_MTU="--mtu=1472"
            DOCKER_OPTS=" --bip=10.1.82.1/24 --ip-masq=false --mtu=1472"

            """),
        Case("environment-options-combined-only", Inputs.walkthrough, environment: ["DOCKER_OPT_DNS": "--dns=10.0.0.10"],
             ["-c", "-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], file: """
            DOCKER_OPTS=" --bip=10.1.82.1/24 --dns=10.0.0.10 --ip-masq=true --mtu=1472"

            """),
        Case("subnet-env-defines-option", Inputs.withOption, ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], file: """
            DOCKER_OPT_BIP="--bip=10.1.82.1/24"
            DOCKER_OPT_IPMASQ="--ip-masq=true"
            DOCKER_OPT_LOG="--log-level=warn"
            DOCKER_OPT_MTU="--mtu=1472"
            DOCKER_OPTS=" --bip=10.1.82.1/24 --ip-masq=true --log-level=warn --mtu=1472"

            """),
        Case("route-via-refused", Inputs.walkthrough, ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV", "-k", "DOCKER_NETWORK_OPTIONS"], routes: Inputs.routedAway,
             status: 1, file: """
            DOCKER_OPT_BIP="--bip=10.1.82.1/24"
            DOCKER_OPT_IPMASQ="--ip-masq=true"
            DOCKER_OPT_MTU="--mtu=1472"
            DOCKER_NETWORK_OPTIONS=" --bip=10.1.82.1/24 --ip-masq=true --mtu=1472"

            """,
             stderr: .upstreamThen("Your routing table already contains the subnet: 10.1.82.0/24 via 192.168.0.3 dev eth0\n",
                                   mentioning: ["ip route del 10.1.82.0/24 via 192.168.0.3", "run SCRIPT again"])),
        Case("route-via-refused-slash25", Inputs.slash25, ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], routes: Inputs.slash25RoutedAway, status: 1, file: """
            DOCKER_OPT_BIP="--bip=10.244.3.129/25"
            DOCKER_OPT_IPMASQ="--ip-masq=false"
            DOCKER_OPT_MTU="--mtu=1450"
            DOCKER_OPTS=" --bip=10.244.3.129/25 --ip-masq=false --mtu=1450"

            """,
             stderr: .upstreamThen(
                 "Your routing table already contains the subnet: 10.244.3.128/25 via 192.168.0.7 dev eth0 proto static\n",
                 mentioning: ["ip route del 10.244.3.128/25 via 192.168.0.7"])),
        // ours: v0.20.2's grep refuses here (status 1); v0.7.0's output.
        Case("route-lookalike-accepted", Inputs.walkthrough, ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], routes: Inputs.lookalike, file: Inputs.walkthroughOutput),
        // ours: upstream also says "ip: command not found".
        Case("no-ip-command", Inputs.walkthrough, ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], routes: nil, file: Inputs.walkthroughOutput),
        Case("usage-h", Inputs.walkthrough, ["-h", "-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], status: 1, file: nil, stderr: .usage(complaint: nil)),
        Case("usage-question-mark", Inputs.walkthrough, ["-?", "-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], status: 1, file: nil, stderr: .usage(complaint: nil)),
        Case("usage-unknown-option", Inputs.walkthrough, ["-x", "-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], status: 1, file: nil,
             stderr: .usage(complaint: "SCRIPT: illegal option -- x\n")),
        Case("usage-missing-argument", Inputs.walkthrough, ["-d", "DOCKER_ENV", "-f"], status: 1, file: nil,
             stderr: .usage(complaint: "SCRIPT: option requires an argument -- f\n")),
        // ours: upstream writes DOCKER_OPTS="" and exits 0.
        Case("missing-subnet-env", nil, ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], status: 1, file: nil,
             stderr: .ours(mentioning: ["subnet.env does not exist", "is flanneld running"])),
        Case("not-flannel-subnet-env", "HELLO=world\n", ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], status: 1, file: nil,
             stderr: .ours(mentioning: ["has no FLANNEL_SUBNET", "not flanneld's subnet file"])),
        // An IPv6-only network's file: upstream's options (no --bip), and our note on the IPv6 subnet.
        Case("ipv6-only-subnet-env", "FLANNEL_IPV6_NETWORK=fd00:10:1::/48\nFLANNEL_IPV6_SUBNET=fd00:10:1:5::1/64\nFLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\n",
             ["-f", "SUBNET_ENV", "-d", "DOCKER_ENV"], file: """
            DOCKER_OPT_IPMASQ="--ip-masq=true"
            DOCKER_OPT_MTU="--mtu=1430"
            DOCKER_OPTS=" --ip-masq=true --mtu=1430"

            """, stderr: .ours(mentioning: ["IPv6-only network", "--ipv6 --fixed-cidr-v6=fd00:10:1:5::1/64"])),
    ]

    @Test(arguments: cases)
    func underBash(_ row: Case) throws {
        try check(row, shell: try #require(Self.find("bash")), bash: true)
    }

    /// Upstream's script is `#!/bin/sh`; ours runs under dash too, with the same output
    /// (lab/setup installs dash; without it this fails, never skips).
    @Test(arguments: cases)
    func underDash(_ row: Case) throws {
        try check(row, shell: try #require(Self.find("dash")), bash: false)
    }

    static func find(_ command: String) -> String? {
        ["/usr/bin", "/bin", "/usr/local/bin"].map { "\($0)/\(command)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func check(_ row: Case, shell: String, bash: Bool) throws {
        let manager = FileManager.default
        let folder = manager.temporaryDirectory.appendingPathComponent("mkdo-\(UUID().uuidString.prefix(8))")
        let tools = folder.appendingPathComponent("tools"), fake = folder.appendingPathComponent("fake")
        try manager.createDirectory(at: tools, withIntermediateDirectories: true)
        try manager.createDirectory(at: fake, withIntermediateDirectories: true)
        defer { try? manager.removeItem(at: folder) }

        // PATH: only what the script needs, and a fake `ip` first when the row has routes.
        for command in ["sed", "sort", "awk", "mv", "rm"] {
            try manager.createSymbolicLink(atPath: tools.appendingPathComponent(command).path,
                                           withDestinationPath: try #require(Self.find(command), "\(command)"))
        }
        var path = tools.path
        if let routes = row.routes {
            let quoted = routes.map { "'\($0)'" }.joined(separator: " ")
            let ip = "#!/bin/sh\nif [ \"$*\" != \"route show\" ]; then echo \"fake ip: $*\" >&2; exit 2; fi\nprintf '%s\\n' \(quoted)\n"
            let ipPath = fake.appendingPathComponent("ip").path
            try ip.write(toFile: ipPath, atomically: true, encoding: .utf8)
            try manager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: ipPath)
            path = fake.path + ":" + path
        }

        let subnetEnv = folder.appendingPathComponent("subnet.env").path
        let dockerEnv = folder.appendingPathComponent("docker").path
        if let text = row.subnetEnv { try text.write(toFile: subnetEnv, atomically: true, encoding: .utf8) }
        let stdoutPath = folder.appendingPathComponent("stdout").path, stderrPath = folder.appendingPathComponent("stderr").path
        _ = manager.createFile(atPath: stdoutPath, contents: nil)
        _ = manager.createFile(atPath: stderrPath, contents: nil)
        let stdout = try #require(FileHandle(forWritingAtPath: stdoutPath))
        let stderr = try #require(FileHandle(forWritingAtPath: stderrPath))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: shell)
        process.arguments = [Self.script] + row.arguments.map { $0 == "SUBNET_ENV" ? subnetEnv : $0 == "DOCKER_ENV" ? dockerEnv : $0 }
        process.environment = row.environment.merging(["PATH": path]) { _, ours in ours }
        process.currentDirectoryURL = folder
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        process.waitUntilExit()
        try stdout.close()
        try stderr.close()

        let errors = try String(contentsOfFile: stderrPath, encoding: .utf8)
        #expect(process.terminationStatus == row.status, "\(errors)")
        #expect(try String(contentsOfFile: stdoutPath, encoding: .utf8) == "")
        if let file = row.file {
            #expect(try String(contentsOfFile: dockerEnv, encoding: .utf8) == file)
        } else {
            #expect(!manager.fileExists(atPath: dockerEnv), "no output file expected")
        }
        // Written whole and renamed: nothing else is left beside it.
        let left = try manager.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("docker") && $0 != "docker" }
        #expect(left.isEmpty, "\(left)")

        let named = { (text: String) in text.replacingOccurrences(of: "SCRIPT", with: Self.script) }
        switch row.stderr {
        case .nothing:
            #expect(errors == "")
        case .exactly(let text):
            #expect(errors == named(text))
        case .usage(let complaint):
            if bash || complaint == nil {
                #expect(errors == named((complaint ?? "") + Inputs.usage))
            } else {
                // dash words getopts' complaint its own way ("Illegal option -x"), on one line.
                #expect(errors.hasSuffix(named(Inputs.usage)) && errors.count > Self.script.count + Inputs.usage.count, "\(errors)")
            }
        case .upstreamThen(let first, let mentioning):
            #expect(errors.hasPrefix(named(first)), "\(errors)")
            for text in mentioning { #expect(errors.dropFirst(first.count).contains(named(text)), "\(errors)") }
        case .ours(let mentioning):
            for text in mentioning { #expect(errors.contains(named(text)), "\(errors)") }
        }
    }
}
