import Agent
import Foundation

/// `netns-lab demo --walkthrough`: scenario S14, the walkthrough's setup step by step with its
/// own commands: etcd with TLS, client certificates and the v2 API; the config, a user and a
/// role limited to `/flannel-test/*` made with `etcdctl` (v2); two agents started from
/// `/etc/sysconfig/flanneld` files through `dist/flanneld-start`; docker0 from
/// `dist/mk-docker-opts.sh`; a ping across; `ps`; and a user without the role, refused.
public struct WalkthroughDemo {
    public var flanneld: String
    /// `flanneld-start`, which the sysconfig's unit runs.
    public var startScript: String
    /// `mk-docker-opts.sh`.
    public var dockerOptionsScript: String
    /// Folders the agents must not see (the Swift toolchain, to run a packaged flanneld without it).
    public var hiding: HiddenPaths
    public var output: (String) -> Void

    public static let prefix = "/flannel-test/network"
    public static let password = "mypassword"

    /// The walkthrough with the repository's `dist/` folder (flanneld-start, mk-docker-opts.sh).
    public init(flanneld: String, dist: String, output: @escaping (String) -> Void) {
        self.init(flanneld: flanneld, startScript: "\(dist)/flanneld-start", dockerOptionsScript: "\(dist)/mk-docker-opts.sh", output: output)
    }

    public init(flanneld: String, startScript: String, dockerOptionsScript: String, hiding: HiddenPaths = .none,
                output: @escaping (String) -> Void) {
        self.flanneld = flanneld
        self.startScript = startScript
        self.dockerOptionsScript = dockerOptionsScript
        self.hiding = hiding
        self.output = output
    }

    /// What the walkthrough shows, for the tests to check.
    public struct Result: Sendable {
        public var subnetKeys: [String] = []
        /// Per host: the lease value `etcdctl get` shows.
        public var leaseValues: [String] = []
        public var hostAddresses: [IPv4Address] = []
        public var dockerOptions: [String] = []
        /// Per host: docker0's address/length and MTU as `ip` reports them.
        public var docker0: [(address: String, mtu: Int)] = []
        public var ping = ""
        public var processLines: [String] = []
        /// Per agent: its resident memory once the ping has crossed, in kilobytes.
        public var agentRSSKilobytes: [Int] = []
        public var agentLogs: [String] = []
        public var refusal = ""
        public var refusalStatus: Int32 = 0
    }

    public func run(names: LabNames = LabNames()) throws -> Result {
        var result = Result()
        let certificates = try TestCertificates(clientCommonName: "flannel-test", serverAddresses: [Lab.etcdAddress.description])
        defer { certificates.remove() }
        let lab = try Lab(names: names, etcdTLS: certificates, enableV2: true)
        defer {
            lab.destroy()
            output("removed the lab \(lab.names.run) (namespaces, processes, files)")
        }
        output("etcd \(lab.etcdEndpoint) in \(lab.etcdNamespace): TLS, client certificates required (--client-cert-auth), v2 API on (--enable-v2)")
        output("")

        let root = "root:root-secret"
        func etcdctl(_ arguments: [String], shown: String? = nil, as credentials: String? = nil) throws -> String {
            output("# etcdctl " + (shown ?? arguments.map { $0.contains(" ") || $0.contains("*") ? "'\($0)'" : $0 }.joined(separator: " ")))
            let answer = try CommandRunner.check(lab.etcdctlV2Command(arguments, credentials: credentials)).stdout
            for line in answer.split(separator: "\n") { output(String(line)) }
            return answer
        }
        // The walkthrough's commands, in its order (`user add` takes name:password here: no terminal to prompt on).
        _ = try etcdctl(["set", "\(Self.prefix)/config", #"{ "Network": "10.1.0.0/16" }"#])
        _ = try etcdctl(["user", "add", "root:root-secret"], shown: "user add root")
        _ = try etcdctl(["user", "add", "flannel-test:\(Self.password)"], shown: "user add flannel-test")
        _ = try etcdctl(["role", "add", "role-flannel"])
        _ = try etcdctl(["role", "grant", "role-flannel", "-path", "/flannel-test/*", "-readwrite"])
        _ = try etcdctl(["user", "grant", "flannel-test", "-roles", "role-flannel"])
        _ = try etcdctl(["auth", "enable"])
        output("")

        let start = startScript
        let hosts = try (1...2).map { try lab.addHost($0) }
        for host in hosts {
            let passwordFile = host.directory.appendingPathComponent("flannel-test.password").path
            try Self.password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
            let sysconfig = host.index == 1
                // The walkthrough's form: everything but endpoints and prefix in FLANNEL_OPTIONS.
                ? """
                FLANNEL_ETCD_ENDPOINTS="\(lab.etcdEndpoint)"
                FLANNEL_ETCD_PREFIX="\(Self.prefix)"
                FLANNEL_OPTIONS="-etcd-cafile=\(certificates.caFile) -etcd-certfile=\(certificates.clientCertFile) -etcd-keyfile=\(certificates.clientKeyFile) -etcd-username=flannel-test -etcd-password-file=\(passwordFile) -subnet-file=\(host.subnetFilePath)"

                """
                // One step past 0.7: the TLS files and credentials as variables of their own.
                : """
                FLANNEL_ETCD_ENDPOINTS="\(lab.etcdEndpoint)"
                FLANNEL_ETCD_PREFIX="\(Self.prefix)"
                FLANNEL_ETCD_CAFILE="\(certificates.caFile)"
                FLANNEL_ETCD_CERTFILE="\(certificates.clientCertFile)"
                FLANNEL_ETCD_KEYFILE="\(certificates.clientKeyFile)"
                FLANNEL_ETCD_USERNAME="flannel-test"
                FLANNEL_ETCD_PASSWORD="\(Self.password)"
                FLANNEL_OPTIONS="-subnet-file=\(host.subnetFilePath)"

                """
            let path = host.directory.appendingPathComponent("sysconfig-flanneld").path
            try sysconfig.write(toFile: path, atomically: true, encoding: .utf8)
            output("h\(host.index)# grep -v '^#\\|^$' /etc/sysconfig/flanneld")
            for line in sysconfig.split(separator: "\n") { output(line.replacingOccurrences(of: Self.password, with: "********")) }
            try host.startAgent(sysconfig: path, startScript: start, binary: flanneld, hiding: hiding)
        }
        let files = try hosts.map { try $0.waitForSubnetFile() }
        output("")
        output("h1# systemctl start flanneld; h2# systemctl start flanneld  →  " + zip(hosts, files).map { "h\($0.index): \($1.subnetsText)" }.joined(separator: ", "))
        output("")

        let listing = try etcdctl(["ls", "\(Self.prefix)/subnets"], as: root)
        result.subnetKeys = listing.split(separator: "\n").map(String.init).sorted()
        for key in result.subnetKeys {
            result.leaseValues.append(try etcdctl(["get", key], as: root).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        output("")

        var containers: [(namespace: Namespace, address: IPv4Address)] = []
        for host in hosts {
            let optionsFile = host.directory.appendingPathComponent("docker").path
            output("h\(host.index)# /usr/libexec/flannel/mk-docker-opts.sh -k DOCKER_NETWORK_OPTIONS -d /run/flannel/docker; cat /run/flannel/docker")
            try CommandRunner.check(["bash", dockerOptionsScript, "-f", host.subnetFilePath, "-k", "DOCKER_NETWORK_OPTIONS", "-d", optionsFile])
            let options = try String(contentsOfFile: optionsFile, encoding: .utf8)
            for line in options.split(separator: "\n") { output(String(line)) }
            guard let combined = options.split(separator: "\n").first(where: { $0.hasPrefix("DOCKER_NETWORK_OPTIONS=") }).map(String.init),
                  let bip = Self.option("--bip", in: combined), let mtu = Self.option("--mtu", in: combined).flatMap(Int.init) else {
                throw Poll.TimedOut(what: "--bip and --mtu in \(optionsFile)", after: .zero)
            }
            result.dockerOptions.append(combined)
            try host.createDocker0(bip: bip, mtu: mtu)
            let docker0 = try host.docker0()
            result.docker0.append(docker0)
            output("h\(host.index)# dockerd $DOCKER_NETWORK_OPTIONS  →  docker0 \(docker0.address) mtu \(docker0.mtu)")
            containers.append(try host.addContainer())
        }
        result.hostAddresses = hosts.map(\.address)
        output("")

        output("h1c1# ping -c 3 \(containers[1].address)")
        result.ping = try containers[0].namespace.run(["ping", "-c", "3", "-W", "2", containers[1].address.description]).stdout
        for line in result.ping.split(separator: "\n") where line.contains("bytes from") || line.contains("packet loss") { output(String(line)) }
        output("")

        output("# ps -ef | grep flanneld")
        let processes = try CommandRunner.check(["ps", "-eo", "args"]).stdout
        result.processLines = processes.split(separator: "\n").map(String.init)
            .filter { $0.hasPrefix(flanneld) && $0.contains(lab.directory.path) }
        for line in result.processLines { output(line) }
        let memory = try CommandRunner.check(["ps", "-eo", "rss=,args="]).stdout
        result.agentRSSKilobytes = memory.split(separator: "\n").compactMap { line -> Int? in
            let fields = line.split(separator: " ", maxSplits: 1)
            guard fields.count == 2, fields[1].hasPrefix(flanneld), fields[1].contains(lab.directory.path) else { return nil }
            return Int(fields[0])
        }
        result.agentLogs = hosts.map { $0.agent?.log ?? "" }
        output("")

        // A user whose role does not cover the prefix.
        _ = try etcdctl(["user", "add", "intruder:\(Self.password)"], shown: "user add intruder", as: root)
        output("h1# flanneld -etcd-username=intruder … (a user without role-flannel)")
        let refused = try CommandRunner.run(hosts[0].namespace.command(hiding.wrap([
            flanneld, "-etcd-endpoints=\(lab.etcdEndpoint)", "-etcd-prefix=\(Self.prefix)", "-etcd-cafile=\(certificates.caFile)",
            "-etcd-certfile=\(certificates.clientCertFile)", "-etcd-keyfile=\(certificates.clientKeyFile)",
            "-etcd-username=intruder", "-subnet-file=\(hosts[0].directory.appendingPathComponent("intruder.env").path)",
        ])), environment: ["FLANNELD_ETCD_PASSWORD": Self.password])
        result.refusal = refused.stdout + refused.stderr
        result.refusalStatus = refused.status
        for line in result.refusal.split(separator: "\n").suffix(2) { output(String(line)) }
        output("(exit status \(refused.status))")
        output("")
        return result
    }

    /// The value of `--name=value` in a line of docker options.
    static func option(_ name: String, in line: String) -> String? {
        line.replacingOccurrences(of: "\"", with: " ").split(separator: " ")
            .first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
    }
}
