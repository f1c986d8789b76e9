import Agent
import Foundation
import Synchronization

/// One fake host of a lab: its namespace, its agent, its docker0 and containers.
public final class LabHost: Sendable {
    public let index: Int
    public let namespace: Namespace
    /// eth0's IPv4 address (on an IPv6-only host, the one it would have: eth0 has none).
    public let address: IPv4Address
    public let directory: URL
    private unowned let lab: Lab
    private let agentState = Mutex<BackgroundProcess?>(nil)
    private let dockerState = Mutex<DockerEngine?>(nil)
    private let containerCount = Mutex(0)
    private let hasDocker0 = Mutex(false)
    /// Containers' IPv6 addresses, by namespace name (dual-stack labs).
    private let containerIPv6 = Mutex<[String: IPv6Address]>([:])

    init(lab: Lab, index: Int, namespace: Namespace, address: IPv4Address, directory: URL) {
        self.lab = lab
        self.index = index
        self.namespace = namespace
        self.address = address
        self.directory = directory
    }

    public var subnetFilePath: String { directory.appendingPathComponent("subnet.env").path }
    /// This host's stand-ins for `/var/run/wireguard` and `/run/flannel/wgkey`.
    public var wireGuard: WireGuardSandbox {
        WireGuardSandbox(socketDirectory: directory.appendingPathComponent("wireguard").path,
                         keyFile: directory.appendingPathComponent("wgkey").path)
    }

    /// `wg show <device> dump` as this host sees it: the private key (not printed), the listen
    /// port, then a line per peer (public key, PSK, endpoint, allowed IPs, handshake, rx, tx,
    /// keepalive), tab-separated.
    public func wireGuardDump(device: String = "flannel-wg") throws -> String {
        try namespace.check(wireGuard.wrap(["wg", "show", device, "dump"])).stdout
    }
    public var agent: BackgroundProcess? { agentState.withLock { $0 } }

    /// Starts the real flanneld binary in this host's namespace; `wrapper` (e.g. `setpriv …
    /// --`) comes before it.
    public func startAgent(binary: String, arguments: [String] = [], wrapper: [String] = []) throws {
        let process = BackgroundProcess(
            command: namespace.command(wireGuard.wrap(wrapper + [binary, "--etcd-endpoints=\(lab.agentEtcdEndpoint)", "--subnet-file=\(subnetFilePath)"] + arguments)),
            logFile: directory.appendingPathComponent("flanneld.log"))
        try process.start()
        agentState.withLock { $0 = process }
    }

    /// Starts flanneld the way `dist/flanneld.service` does on a real host: the variables of
    /// `sysconfig` (an `/etc/sysconfig/flanneld`) in the environment, then `flanneld-start`
    /// with `$FLANNEL_OPTIONS` split into words, exec'ing `binary`; `hiding` makes folders
    /// (the Swift toolchain) invisible to it. The privilege lines of the `flanneld.service` next
    /// to `startScript` apply (`UnitSandbox`).
    public func startAgent(sysconfig: String, startScript: String, binary: String, hiding: HiddenPaths = .none) throws {
        let shell = #"set -a; . "$1"; set +a; FLANNELD="$2" exec "$3" $FLANNEL_OPTIONS"#
        let unit = URL(fileURLWithPath: startScript).deletingLastPathComponent().appendingPathComponent("flanneld.service")
        let sandbox = (try? String(contentsOf: unit, encoding: .utf8)).map(UnitSandbox.init(unitText:))
        let command = ["sh", "-c", shell, "flanneld.service", sysconfig, binary, startScript]
        let process = BackgroundProcess(
            command: namespace.command(hiding.wrap(sandbox?.wrap(command) ?? command)),
            logFile: directory.appendingPathComponent("flanneld.log"))
        try process.start()
        agentState.withLock { $0 = process }
    }

    /// docker0 as `dockerd --bip=<address/length> --mtu=<mtu>` makes it (with
    /// `--fixed-cidr-v6`, its IPv6 address `bipIPv6` too); containers attach to it.
    public func createDocker0(bip: String?, mtu: Int, bipIPv6: String? = nil) throws {
        try namespace.ip(["link", "add", "docker0", "type", "bridge"])
        if let bip { try namespace.ip(["addr", "add", bip, "dev", "docker0"]) }
        if let bipIPv6 { try namespace.ip(["-6", "addr", "add", bipIPv6, "dev", "docker0", "nodad"]) }
        try namespace.ip(["link", "set", "docker0", "mtu", String(mtu), "up"])
        hasDocker0.withLock { $0 = true }
    }

    /// Starts Debian's dockerd on this host with `options` (the walkthrough's
    /// `$DOCKER_NETWORK_OPTIONS`); it makes docker0 itself, so start it before any `addContainer`.
    @discardableResult
    public func startDocker(options: [String]) throws -> DockerEngine {
        let engine = DockerEngine(namespace: namespace, directory: directory.appendingPathComponent("docker"), options: options)
        dockerState.withLock { $0 = engine }
        try engine.start()
        hasDocker0.withLock { $0 = true }
        return engine
    }

    /// Removes the docker engine's containers, stops it and removes its cgroups.
    public func stopDocker() {
        dockerState.withLock { $0 }?.stop()
    }

    @discardableResult
    public func stopAgent() -> Duration {
        agentState.withLock { $0 }?.stop() ?? .zero
    }

    /// The agent's `/metrics` text (it must run with `--healthz-port=<port>`).
    public func metrics(port: Int) throws -> String {
        try namespace.check(["python3", "-c",
            "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:\(port)/metrics', timeout=5).read().decode())"]).stdout
    }

    /// Waits for the agent's subnet.env and parses it.
    public func waitForSubnetFile(timeout: Duration = .seconds(30)) throws -> SubnetFile {
        var file: SubnetFile?
        try Poll.until("\(namespace)'s subnet.env", timeout: timeout, interval: .milliseconds(100)) {
            if let agent, !agent.isRunning {
                throw Poll.TimedOut(what: "\(namespace)'s agent, which exited: \(agent.log.suffix(600))", after: .zero)
            }
            guard let text = try? String(contentsOfFile: subnetFilePath, encoding: .utf8) else { return false }
            file = try? SubnetFile.parse(text)
            return file != nil
        }
        return file!
    }

    /// A container: a namespace behind a veth on docker0 (created from subnet.env the first
    /// time, as docker does with `--bip` and `--mtu`), addressed .2, .3, … of the host's subnet
    /// (and the same position of its IPv6 subnet when subnet.env names one).
    public func addContainer() throws -> (namespace: Namespace, address: IPv4Address) {
        let (container, address, _) = try addContainerOfEachFamily()
        guard let address else {
            throw MissingSubnet(host: "\(namespace)", variable: "FLANNEL_SUBNET", hint: "an IPv6-only network; add the container with addIPv6Container")
        }
        return (container, address)
    }

    /// A container addressed by its IPv6 address: an IPv6-only network's (no IPv4 at all), or
    /// a dual-stack one's.
    public func addIPv6Container() throws -> (namespace: Namespace, address: IPv6Address) {
        let (container, _, address) = try addContainerOfEachFamily()
        guard let address else {
            throw MissingSubnet(host: "\(namespace)", variable: "FLANNEL_IPV6_SUBNET", hint: "the network has no IPv6 (EnableIPv6)")
        }
        return (container, address)
    }

    private func addContainerOfEachFamily() throws -> (Namespace, IPv4Address?, IPv6Address?) {
        let subnet = try SubnetFile.parse(String(contentsOfFile: subnetFilePath, encoding: .utf8))
        let number = containerCount.withLock { count -> Int in
            count += 1
            return count
        }
        if !hasDocker0.withLock({ $0 }) {
            try createDocker0(bip: subnet.subnet.map { "\($0.firstHost)/\($0.prefixLength)" }, mtu: subnet.mtu,
                              bipIPv6: subnet.ipv6Subnet.map { "\($0.firstHost)/\($0.prefixLength)" })
        }
        let container = Namespace(name: "\(namespace.name)c\(number)")
        try CommandRunner.check(["ip", "netns", "add", container.name])
        try container.ip(["link", "set", "lo", "up"])
        let hostSide = "veth\(number)"
        try CommandRunner.check(["ip", "link", "add", hostSide, "netns", namespace.name, "type", "veth", "peer", "name", "eth0", "netns", container.name])
        try namespace.ip(["link", "set", hostSide, "master", "docker0", "up"])
        var address: IPv4Address?
        if let ipv4Subnet = subnet.subnet {
            let ipv4 = IPv4Address(bits: ipv4Subnet.address.bits + UInt32(1 + number))
            try container.ip(["addr", "add", "\(ipv4)/\(ipv4Subnet.prefixLength)", "dev", "eth0"])
            address = ipv4
        }
        try container.ip(["link", "set", "eth0", "mtu", String(subnet.mtu), "up"])
        if let ipv4Subnet = subnet.subnet {
            try container.ip(["route", "add", "default", "via", ipv4Subnet.firstHost.description])
        }
        var ipv6Address: IPv6Address?
        if let ipv6Subnet = subnet.ipv6Subnet, let ipv6 = ipv6Subnet.address.advanced(by: UInt128(1 + number)) {
            try container.ip(["-6", "addr", "add", "\(ipv6)/\(ipv6Subnet.prefixLength)", "dev", "eth0", "nodad"])
            try container.ip(["-6", "route", "add", "default", "via", ipv6Subnet.firstHost.description])
            containerIPv6.withLock { $0[container.name] = ipv6 }
            ipv6Address = ipv6
        }
        return (container, address, ipv6Address)
    }

    /// The IPv6 address of one of this host's containers (subnet.env named an IPv6 subnet
    /// when it was added), else nil.
    public func ipv6Address(of container: Namespace) -> IPv6Address? {
        containerIPv6.withLock { $0[container.name] }
    }
}
