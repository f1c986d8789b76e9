import ArgumentParser
import NetnsLab

extension NetnsLabCommand {
    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a lab (etcd, hosts running flanneld, containers) and leave it running; `netns-lab down` removes it.")

        @Option(help: "Number of hosts (1–200)")
        var hosts = 2

        @Option(help: "Containers per host")
        var containers = 1

        @Option(help: "The network config written to /coreos.com/network/config (default: 10.1.0.0/16 with --backend)")
        var config: String?

        @Option(help: "The backend when --config is not given: udp (default), vxlan, host-gw or wireguard (wireguard-go on a kernel without WireGuard)")
        var backend: String?

        @Flag(help: "Dual-stack: an IPv6 underlay (2001:db8::/64) beside the IPv4 one, and with --backend an IPv6Network (fd00:10:1::/48) in the config")
        var ipv6 = false

        @Flag(help: "IPv6-only: hosts with the IPv6 underlay alone (etcd at [2001:db8::2]), an IPv6-only network (EnableIPv4 false, fd00:10:1::/48) and IPv6-only containers")
        var ipv6Only = false

        @Option(help: "etcd as a cluster of this many members (1, 3 or 5), each in its own namespace at 192.0.2.2, .3, …; the agents get every member's endpoint")
        var etcdMembers = 1

        @Option(help: "Path of the flanneld binary (default: next to netns-lab)")
        var flanneld: String?

        @Option(name: .customLong("flanneld-arg"), help: "An extra flanneld argument (repeatable), e.g. --flanneld-arg=-v=1")
        var flanneldArguments: [String] = []

        func validate() throws {
            guard (1...200).contains(hosts) else { throw ValidationError("--hosts must be between 1 and 200 (underlay 192.0.2.11…), got \(hosts)") }
            guard (0...50).contains(containers) else { throw ValidationError("--containers must be between 0 and 50, got \(containers)") }
            if ipv6 || ipv6Only, backend == "udp" {
                throw ValidationError("\(ipv6Only ? "--ipv6-only" : "--ipv6") with --backend udp: the udp backend carries IPv4 only (as upstream's); use vxlan or host-gw")
            }
            guard [1, 3, 5].contains(etcdMembers) else {
                throw ValidationError("--etcd-members must be 1, 3 or 5 (an odd number keeps a majority), got \(etcdMembers)")
            }
            if ipv6 && ipv6Only {
                throw ValidationError("--ipv6 and --ipv6-only: choose one (dual-stack, or IPv6 alone)")
            }
            if let backend {
                guard ["udp", "vxlan", "host-gw", "wireguard"].contains(backend) else {
                    throw ValidationError("--backend \(backend) is not a backend this agent has; use udp, vxlan, host-gw or wireguard")
                }
                guard config == nil else {
                    throw ValidationError("--config and --backend both set the backend; put it in the config: \"Backend\": {\"Type\": \"\(backend)\"}")
                }
            }
        }

        func run() throws {
            try LabCommandSupport.requireRoot()
            var bringUp = LabBringUp(flanneld: try LabCommandSupport.flanneld(flanneld))
            bringUp.hosts = hosts
            bringUp.containersPerHost = containers
            bringUp.ipv6 = ipv6
            bringUp.ipv6Only = ipv6Only
            bringUp.etcdMembers = etcdMembers
            if ipv6Only {
                bringUp.networkConfig = config ?? LabBringUp.ipv6OnlyConfig(backend: backend ?? "vxlan")
            } else if ipv6 {
                bringUp.networkConfig = config ?? LabBringUp.dualStackConfig(backend: backend ?? "vxlan")
            } else {
                bringUp.networkConfig = config ?? backend.map { #"{ "Network": "10.1.0.0/16", "Backend": { "Type": "\#($0)" } }"# }
                    ?? #"{ "Network": "10.1.0.0/16" }"#
            }
            bringUp.agentArguments = flanneldArguments
            let names = LabNames()
            let result = try LabCommandSupport.interruptible(run: names.run) { try bringUp.run(names: names) { print($0) } }
            print("")
            print(try LabCommandSupport.select(result.lab.names.run).status())
            print("")
            let first = containers > 0 && hosts > 1 ? "netns-lab ping h1c1 h2c1" : "netns-lab status"
            print("lab \(result.lab.names.run) is up; try `\(first)`; logs in \(result.lab.directory.path)/h*/flanneld.log; remove it with `netns-lab down`")
        }
    }
}
