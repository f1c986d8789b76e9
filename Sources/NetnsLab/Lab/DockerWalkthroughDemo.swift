import Agent
import Foundation

/// `netns-lab demo --docker`: the walkthrough's flow on Debian's real docker engine. On each of
/// two hosts: flanneld (udp) → subnet.env → `mk-docker-opts.sh` → `dockerd
/// $DOCKER_NETWORK_OPTIONS` (docker makes docker0 and its own MASQUERADE rule) → `docker run`
/// busybox; then a ping from h1's container to h2's, captured on the container's veth,
/// docker0, flannel0 and eth0: the walkthrough's four-row table, with docker's masquerade
/// giving the flannel0 row flannel0's address as source. Cleans up after itself.
public struct DockerWalkthroughDemo {
    public var flanneld: String
    /// `mk-docker-opts.sh`.
    public var dockerOptionsScript: String
    public var output: (String) -> Void

    public init(flanneld: String, dist: String, output: @escaping (String) -> Void) {
        self.flanneld = flanneld
        self.dockerOptionsScript = "\(dist)/mk-docker-opts.sh"
        self.output = output
    }

    /// What the demo shows, for the tests to check.
    public struct Result: Sendable {
        public var subnets: [IPv4Network] = []
        public var hostAddresses: [IPv4Address] = []
        /// Per host, the `DOCKER_NETWORK_OPTIONS=…` line mk-docker-opts.sh wrote.
        public var dockerOptions: [String] = []
        /// Per host, docker0's address/length and MTU as docker made them.
        public var docker0: [(address: String, mtu: Int)] = []
        /// Per host, `iptables -t nat -S POSTROUTING` once dockerd runs.
        public var natPostrouting: [String] = []
        /// Per host, its container's address and the MTU of its eth0.
        public var containers: [(address: IPv4Address, mtu: Int)] = []
        public var ping = ""
        /// The ping's first packet per device on h1: container veth, docker0, flannel0, eth0.
        public var flows: [(device: String, flow: String)] = []
    }

    public func run(names: LabNames = LabNames()) throws -> Result {
        if !DockerEngine.missingTools.isEmpty {
            throw DockerEngine.Unavailable(what: "netns-lab demo --docker needs " + DockerEngine.missingTools.joined(separator: ", "))
        }
        var result = Result()
        let lab = try Lab(names: names)
        defer {
            lab.destroy()
            output("[7/7] removed the lab \(lab.names.run) (docker engines and containers, namespaces, processes, cgroups, files)")
        }
        let config = #"{ "Network": "10.1.0.0/16" }"#
        try lab.etcdctl(["put", "/coreos.com/network/config", config])
        output("[1/7] lab \(lab.names.run): etcd at \(lab.etcdEndpoint); etcdctl put /coreos.com/network/config '\(config)'")

        let hosts = try (1...2).map { try lab.addHost($0) }
        for host in hosts { try host.startAgent(binary: flanneld) }
        let files = try hosts.map { try $0.waitForSubnetFile() }
        result.subnets = try files.map { try $0.ipv4Pair().subnet }
        result.hostAddresses = hosts.map(\.address)
        output("[2/7] flanneld (udp) on " + zip(hosts, files).map { "h\($0.index) (\($0.address)) → \($1.subnetsText)" }.joined(separator: ", "))

        var engines: [DockerEngine] = []
        for host in hosts {
            let optionsFile = host.directory.appendingPathComponent("docker.env").path
            try CommandRunner.check(["bash", dockerOptionsScript, "-f", host.subnetFilePath, "-k", "DOCKER_NETWORK_OPTIONS", "-d", optionsFile])
            let line = try String(contentsOfFile: optionsFile, encoding: .utf8).split(separator: "\n")
                .first { $0.hasPrefix("DOCKER_NETWORK_OPTIONS=") }.map(String.init) ?? ""
            result.dockerOptions.append(line)
            output("[3/7] h\(host.index)# mk-docker-opts.sh -k DOCKER_NETWORK_OPTIONS -d /run/flannel/docker  →  \(line)")
            // As docker.service's `EnvironmentFile=` and `$DOCKER_NETWORK_OPTIONS` hand them over: words.
            let value = line.dropFirst("DOCKER_NETWORK_OPTIONS=".count).replacingOccurrences(of: "\"", with: "")
            let engine = try host.startDocker(options: value.split(separator: " ").map(String.init))
            engines.append(engine)
            let nat = try host.namespace.check(["iptables", "-t", "nat", "-S", "POSTROUTING"]).stdout
            result.natPostrouting.append(nat)
            output("[4/7] h\(host.index)# dockerd $DOCKER_NETWORK_OPTIONS  →  docker0 and docker's rule "
                   + (nat.split(separator: "\n").first { $0.contains("MASQUERADE") }.map(String.init) ?? "(none)"))
        }

        var containers: [DockerContainer] = []
        for (host, engine) in zip(hosts, engines) {
            try engine.importBusybox()
            let container = try engine.runContainer(named: "h\(host.index)c1")
            let mtu = Int(try engine.docker(["exec", container.name, "cat", "/sys/class/net/eth0/mtu"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            result.containers.append((container.address, mtu))
            containers.append(container)
            // docker sets docker0's MTU through its ports: read it once a container is attached.
            result.docker0.append(try host.docker0())
        }
        output("[5/7] h1# docker import (busybox-static) \(DockerEngine.image); docker run -d --name h<N>c1 \(DockerEngine.image) sleep 86400 (on each host)")
        output("")
        output("| host | public interface | flannel0 | docker0 (mtu) | container (mtu) |")
        output("|---|---|---|---|---|")
        for (index, host) in hosts.enumerated() {
            let subnet = result.subnets[index]
            let container = containers[index]
            output("| h\(host.index) | eth0:\(host.address) | \(subnet.address)/32 | \(result.docker0[index].address) (\(result.docker0[index].mtu)) | \(container.hostVeth):\(container.address)/\(container.prefixLength) (\(result.containers[index].mtu)) |")
        }

        let capture = PathCapture.walkthrough(namespace: hosts[0].namespace, directory: lab.directory, veth: containers[0].hostVeth)
        let (ping, flows) = try capture.around {
            try containers[0].exec(["ping", "-c", "3", "-W", "2", containers[1].address.description])
        }
        result.ping = ping.stdout + ping.stderr
        result.flows = flows
        output("")
        output("[6/7] h1# docker exec h1c1 ping -c 3 \(containers[1].address)")
        for line in result.ping.split(separator: "\n") where line.contains("bytes from") || line.contains("packet loss") {
            output("    \(line)")
        }
        output("")
        output("| device | captured on h1 |")
        output("|---|---|")
        for (device, flow) in flows { output("| \(device) | \(flow) |") }
        output("")
        return result
    }
}
