import Agent
import Foundation

/// `netns-lab demo`: scenario S1 from nothing, printing the walkthrough's tables from real
/// data: the hosts, the path of one ping through veth, docker0, flannel0 and eth0, and the
/// leases as etcdctl shows them. Cleans up after itself.
public struct SeedPingDemo {
    public var flanneld: String
    /// Adds docker's default masquerade rule on each host (`-s <subnet> ! -o docker0 -j
    /// MASQUERADE`), which reproduces the walkthrough's flannel0 row.
    public var dockerMasquerade: Bool
    public var output: (String) -> Void

    public init(flanneld: String, dockerMasquerade: Bool, output: @escaping (String) -> Void) {
        self.flanneld = flanneld
        self.dockerMasquerade = dockerMasquerade
        self.output = output
    }

    public func run(names: LabNames = LabNames()) throws {
        var step = 0
        let bringUp = try LabBringUp(flanneld: flanneld).run(names: names) { line in
            step += 1
            output("[\(step)/6] \(line)")
        }
        let lab = bringUp.lab
        defer {
            lab.destroy()
            output("[6/6] removed the lab \(lab.names.run) (namespaces, processes, files)")
        }
        let hosts = bringUp.hosts
        let files = bringUp.subnetFiles
        let subnets = try files.map { try $0.ipv4Pair().subnet }
        let containers = bringUp.containers.map { $0[0] }
        if dockerMasquerade {
            for (host, subnet) in zip(hosts, subnets) {
                try host.namespace.check(["iptables", "-t", "nat", "-A", "POSTROUTING", "-s", subnet.description,
                                          "!", "-o", "docker0", "-j", "MASQUERADE"])
            }
        }
        output("[4/6] docker0 and one container on each host (mode: \(dockerMasquerade ? "docker's default masquerade rule on each host" : "no masquerade: container addresses survive end to end"))")

        output("")
        output("| host | public interface | flannel0 | docker0 | container |")
        output("|---|---|---|---|---|")
        for (index, host) in hosts.enumerated() {
            let subnet = subnets[index]
            output("| h\(host.index) | eth0:\(host.address) | \(subnet.address)/32 | \(subnet.firstHost)/\(subnet.prefixLength) | veth1:\(containers[index].address)/\(subnet.prefixLength) |")
        }

        // One echo request, captured on every device it crosses on host 1.
        let capture = PathCapture.walkthrough(namespace: hosts[0].namespace, directory: lab.directory, veth: "veth1")
        let (ping, flows) = try capture.around {
            try containers[0].namespace.run(["ping", "-c", "3", "-W", "2", containers[1].address.description])
        }
        output("")
        output("[5/6] ping -c 3 \(containers[1].address) from h1's container:")
        for line in ping.stdout.split(separator: "\n") where line.contains("bytes from") || line.contains("packet loss") {
            output("    \(line)")
        }
        output("")
        output("| device | captured on h1 |")
        output("|---|---|")
        for (device, flow) in flows { output("| \(device) | \(flow) |") }
        output("")
        output("$ etcdctl get --prefix /coreos.com/network/subnets")
        for line in try lab.etcdctl(["get", "--prefix", "/coreos.com/network/subnets"]).stdout.split(separator: "\n") {
            output("    \(line)")
        }
        output("")
    }
}
