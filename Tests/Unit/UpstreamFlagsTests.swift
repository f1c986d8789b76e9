import Agent
import Foundation
import NetnsLab
import Testing

/// Every flag that upstream flanneld 0.7.0 and 0.20.2 list in `-help` is either honoured by
/// our binary or refused with a message that names it and says what to do, in each of the
/// forms Go's flag package and flagutil take: `-flag=v`, `--flag=v`, `-flag v` (not for
/// booleans), bare `-flag` (booleans), and `FLANNELD_FLAG=v`.
@Suite("upstream flags, binary against binary")
struct UpstreamFlagsTests {
    static let flanneld = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("flanneld").path
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let upstreamDirectory = ProcessInfo.processInfo.environment["FLANNEL_UPSTREAM_DIR"]
        ?? repository.deletingLastPathComponent().appendingPathComponent("shared/upstream").path

    /// What our binary must do with one upstream flag.
    enum Expectation {
        /// `--print-flags` shows `setting=shown` when the flag is given `value`.
        case honoured(value: String, setting: String, shown: String)
        /// Exit 2, and standard error names the flag and contains `reason`.
        case refused(value: String, reason: String)
        /// `-help` and `-version`: their own output; from the environment upstream ignores them.
        case help, version
    }

    static let booleans: Set<String> = [
        "alsologtostderr", "logtostderr", "ip-masq", "iptables-forward-rules", "kube-subnet-mgr", "watch-networks",
        "set-node-network-unavailable", "help", "version",
    ]

    static let expectations: [String: Expectation] = [
        "etcd-endpoints": .honoured(value: "https://192.0.2.1:2379,https://192.0.2.2:2379", setting: "etcd-endpoints", shown: "https://192.0.2.1:2379,https://192.0.2.2:2379"),
        "etcd-prefix": .honoured(value: "/flannel-test/network", setting: "etcd-prefix", shown: "/flannel-test/network"),
        "etcd-cafile": .honoured(value: "/etc/pki/etcd/cacert.pem", setting: "etcd-cafile", shown: "/etc/pki/etcd/cacert.pem"),
        "etcd-certfile": .honoured(value: "/etc/pki/etcd/etcd.crt", setting: "etcd-certfile", shown: "/etc/pki/etcd/etcd.crt"),
        "etcd-keyfile": .honoured(value: "/etc/pki/etcd/etcd.key", setting: "etcd-keyfile", shown: "/etc/pki/etcd/etcd.key"),
        "etcd-username": .honoured(value: "flannel-test", setting: "etcd-username", shown: "flannel-test"),
        "etcd-password": .honoured(value: "mypassword", setting: "etcd-password", shown: "(set, not shown)"),
        "iface": .honoured(value: "eth1", setting: "iface", shown: "eth1"),
        "iface-regex": .honoured(value: "^eth[0-9]$", setting: "iface-regex", shown: "^eth[0-9]$"),
        "iface-can-reach": .honoured(value: "192.0.2.9", setting: "iface-can-reach", shown: "192.0.2.9"),
        "public-ip": .honoured(value: "192.0.2.5", setting: "public-ip", shown: "192.0.2.5"),
        "subnet-file": .honoured(value: "/run/flannel/other.env", setting: "subnet-file", shown: "/run/flannel/other.env"),
        "subnet-lease-renew-margin": .honoured(value: "30", setting: "subnet-lease-renew-margin", shown: "30"),
        "ip-masq": .honoured(value: "true", setting: "ip-masq", shown: "true"),
        "iptables-forward-rules": .honoured(value: "false", setting: "iptables-forward-rules", shown: "false"),
        "iptables-resync": .honoured(value: "7", setting: "iptables-resync", shown: "7"),
        "healthz-ip": .honoured(value: "127.0.0.1", setting: "healthz-ip", shown: "127.0.0.1"),
        "healthz-port": .honoured(value: "8471", setting: "healthz-port", shown: "8471"),
        "v": .honoured(value: "2", setting: "v", shown: "2"),
        "logtostderr": .honoured(value: "false", setting: "logtostderr", shown: "false"),
        "alsologtostderr": .honoured(value: "true", setting: "alsologtostderr", shown: "true"),
        "log_dir": .honoured(value: "/var/log/flannel", setting: "log_dir", shown: "/var/log/flannel"),
        "stderrthreshold": .honoured(value: "WARNING", setting: "stderrthreshold", shown: "WARNING"),
        "vmodule": .honoured(value: "main=3", setting: "vmodule", shown: "main=3"),
        "log_backtrace_at": .honoured(value: "main.go:10", setting: "log_backtrace_at", shown: "main.go:10"),
        "help": .help,
        "version": .version,
        "kube-subnet-mgr": .refused(value: "true", reason: "Kubernetes API server"),
        "kube-api-url": .refused(value: "https://192.0.2.1:6443", reason: "-kube-subnet-mgr"),
        "kube-annotation-prefix": .refused(value: "flannel.alpha.coreos.com", reason: "-kube-subnet-mgr"),
        "kubeconfig-file": .refused(value: "/etc/kubernetes/kubeconfig", reason: "-kube-subnet-mgr"),
        "net-config-path": .refused(value: "/etc/kube-flannel/net-conf.json", reason: "<etcd-prefix>/config"),
        "set-node-network-unavailable": .refused(value: "false", reason: "-kube-subnet-mgr"),
        "listen": .refused(value: ":8080", reason: "removed upstream in 0.8.0"),
        "remote": .refused(value: "192.0.2.1:8080", reason: "removed upstream in 0.8.0"),
        "remote-cafile": .refused(value: "/etc/ca.pem", reason: "removed upstream in 0.8.0"),
        "remote-certfile": .refused(value: "/etc/c.pem", reason: "removed upstream in 0.8.0"),
        "remote-keyfile": .refused(value: "/etc/k.pem", reason: "removed upstream in 0.8.0"),
        "networks": .refused(value: "blue,green", reason: "one flanneld per network"),
        "watch-networks": .refused(value: "true", reason: "one flanneld per network"),
        "subnet-dir": .refused(value: "/run/flannel/networks", reason: "one flanneld per network"),
        "public-ipv6": .honoured(value: "2001:db8::5", setting: "public-ipv6", shown: "2001:db8::5"),
    ]

    /// The flag names an upstream binary lists in its `-help`.
    static func upstreamFlags(_ binary: String) throws -> [String] {
        let result = try CommandRunner.run([binary, "-help"])
        return (result.stdout + result.stderr).split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  -") else { return nil }
            return line.dropFirst(3).split(separator: " ").first.map(String.init)
        }
    }

    /// Both releases' flags, or nil (recorded as a failure under CI) when the binaries are missing.
    static func bothReleasesFlags() throws -> [String]? {
        let binaries = ["flanneld-0.7.0", "flanneld-0.20.2"].map { "\(upstreamDirectory)/\($0)" }
        let missing = binaries.filter { !FileManager.default.isExecutableFile(atPath: $0) }
        guard missing.isEmpty else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                Issue.record("upstream flanneld binaries missing: \(missing.joined(separator: ", ")); set FLANNEL_UPSTREAM_DIR to the folder holding flanneld-0.7.0 and flanneld-0.20.2")
            }
            return nil
        }
        return Array(Set(try binaries.flatMap(upstreamFlags))).sorted()
    }

    @Test func everyUpstreamFlagIsClassified() throws {
        guard let flags = try Self.bothReleasesFlags() else { return }
        #expect(flags.count >= 40, "the help outputs were read: \(flags)")
        let unclassified = flags.filter { Self.expectations[$0] == nil }
        #expect(unclassified.isEmpty, "flags of upstream's -help this test does not know: \(unclassified)")
    }

    /// The forms one flag can take, each as (arguments, environment, label).
    static func forms(_ flag: String, value: String) -> [(arguments: [String], environment: [String: String], label: String)] {
        var forms: [(arguments: [String], environment: [String: String], label: String)] = [
            (["-\(flag)=\(value)"], [:], "-\(flag)=\(value)"),
            (["--\(flag)=\(value)"], [:], "--\(flag)=\(value)"),
            ([], [FlanneldCommandLine.environmentName(flag): value], "\(FlanneldCommandLine.environmentName(flag))=\(value)"),
        ]
        if booleans.contains(flag) {
            if value == "true" { forms.append((["-\(flag)"], [:], "bare -\(flag)")) }
        } else {
            forms.append((["-\(flag)", value], [:], "-\(flag) \(value)"))
        }
        return forms
    }

    @Test(arguments: expectations.keys.sorted())
    func flagIsHonouredOrRefusedInEveryForm(flag: String) throws {
        switch Self.expectations[flag]! {
        case let .honoured(value, setting, shown):
            for form in Self.forms(flag, value: value) {
                let result = try CommandRunner.run([Self.flanneld, "--print-flags"] + form.arguments, environment: form.environment)
                #expect(result.status == 0, "\(form.label): \(result.stderr)")
                let lines = result.stdout.split(separator: "\n").map(String.init)
                #expect(lines.contains("\(setting)=\(shown)"), "\(form.label) → \(lines.filter { $0.hasPrefix(setting + "=") })")
                if flag == "etcd-password" { #expect(!result.stdout.contains(value), "the password is never printed") }
            }
        case let .refused(value, reason):
            for form in Self.forms(flag, value: value) {
                let result = try CommandRunner.run([Self.flanneld, "--print-flags"] + form.arguments, environment: form.environment)
                #expect(result.status == 2, "\(form.label): exit \(result.status)")
                #expect(result.stderr.contains("-\(flag): ") && result.stderr.contains(reason) && result.stderr.contains("remove it"),
                        "\(form.label): \(result.stderr)")
                #expect(!result.stderr.contains("Unknown option"), "\(form.label): \(result.stderr)")
            }
        case .help:
            for arguments in [["-help"], ["--help"], ["-h"]] {
                let result = try CommandRunner.run([Self.flanneld] + arguments)
                #expect(result.status == 0, "\(arguments)")
                #expect((result.stdout + result.stderr).contains("--etcd-endpoints"), "\(arguments): \(result.stdout)")
            }
            try expectIgnoredFromEnvironment(flag)
        case .version:
            for arguments in [["-version"], ["--version"]] {
                let result = try CommandRunner.run([Self.flanneld] + arguments)
                #expect(result.status == 0 && result.stdout.hasPrefix("flanneld \(AgentVersion.current)"), "\(arguments): \(result.stdout)")
            }
            try expectIgnoredFromEnvironment(flag)
        }
    }

    /// Upstream acts on -help and -version before it reads FLANNELD_*, so those variables do nothing.
    private func expectIgnoredFromEnvironment(_ flag: String) throws {
        let variable = FlanneldCommandLine.environmentName(flag)
        let result = try CommandRunner.run([Self.flanneld, "--print-flags"], environment: [variable: "true"])
        #expect(result.status == 0 && result.stdout.contains("etcd-endpoints="), "\(variable)=true is ignored, as upstream: \(result.stdout)")
    }

    /// An inert value of a refused boolean (its upstream default) is accepted with a note.
    @Test func inertValuesAreAcceptedWithANote() throws {
        let parsed = try FlanneldCommandLine.parse(["-kube-subnet-mgr=false", "--set-node-network-unavailable=true"], environment: [:])
        #expect(parsed.notes.count == 2, "\(parsed.notes)")
        #expect(parsed.notes.allSatisfy { $0.contains("no effect") })
    }

    /// As upstream's flagutil: an empty FLANNELD_* variable counts as not set; and a bad flag
    /// exits 2, as Go's flag package does.
    @Test func emptyVariablesAreUnsetAndBadFlagsExit2() throws {
        let empty = try CommandRunner.run([Self.flanneld, "--print-flags"],
                                          environment: ["FLANNELD_IP_MASQ": "", "FLANNELD_V": "", "FLANNELD_KUBE_API_URL": ""])
        #expect(empty.status == 0 && empty.stdout.contains("ip-masq=false\n") && empty.stdout.contains("v=0\n"), "\(empty.stderr)")
        let bad = try CommandRunner.run([Self.flanneld, "--no-such-flag"])
        #expect(bad.status == 2 && bad.stderr.contains("no-such-flag"), "\(bad.status): \(bad.stderr)")
        // After `--` nothing is a flag: an extra argument, not a refused flag.
        #expect { try FlanneldCommandLine.parse(["-ip-masq", "--", "-kube-subnet-mgr"], environment: [:]) }
            throws: { !($0 is FlanneldCommandLine.Refused) && "\($0)".contains("kube-subnet-mgr") }
    }

    /// The CentOS 7 sysconfig line that made the agent refuse to start before.
    @Test func centOSGlogOptionsStart() throws {
        let result = try CommandRunner.run([Self.flanneld, "--print-flags", "-logtostderr=false", "-log_dir=/var/log/flannel", "-v=2", "-iface=eth0"])
        #expect(result.status == 0, "\(result.stderr)")
        for line in ["logtostderr=false", "log_dir=/var/log/flannel", "v=2", "iface=eth0"] {
            #expect(result.stdout.contains(line + "\n"), "\(line) in \(result.stdout)")
        }
    }
}
