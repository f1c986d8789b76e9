import Agent
import Foundation

/// The common start of every lab job (`demo`, `up`, `bench`): a lab, the network config in
/// etcd, N hosts running the real flanneld, and containers behind docker0 on each.
public struct LabBringUp {
    public var hosts = 2
    public var containersPerHost = 1
    public var networkConfig = #"{ "Network": "10.1.0.0/16" }"#
    public var flanneld: String
    public var agentArguments: [String] = []
    /// Hosts get an IPv6 underlay address too (for `EnableIPv6` configs).
    public var ipv6 = false
    /// Hosts get the IPv6 underlay address alone, and containers IPv6 only (for IPv6-only configs).
    public var ipv6Only = false
    /// etcd as a cluster of this many members (1: a single etcd).
    public var etcdMembers = 1

    /// The lab's dual-stack network config: 10.1.0.0/16 and fd00:10:1::/48 (/24s and /64s).
    public static func dualStackConfig(backend: String) -> String {
        #"{ "Network": "10.1.0.0/16", "EnableIPv6": true, "IPv6Network": "fd00:10:1::/48", "Backend": { "Type": "\#(backend)" } }"#
    }

    /// The lab's IPv6-only network config: fd00:10:1::/48 in /64s, no IPv4.
    public static func ipv6OnlyConfig(backend: String) -> String {
        #"{ "EnableIPv4": false, "EnableIPv6": true, "IPv6Network": "fd00:10:1::/48", "Backend": { "Type": "\#(backend)" } }"#
    }

    public init(flanneld: String) {
        self.flanneld = flanneld
    }

    public struct Result {
        public let lab: Lab
        public let hosts: [LabHost]
        public let subnetFiles: [SubnetFile]
        /// Per host, its containers' namespaces and addresses (none in an IPv6-only lab).
        public let containers: [[(namespace: Namespace, address: IPv4Address)]]
        /// Per host, an IPv6-only lab's containers.
        public var ipv6Containers: [[(namespace: Namespace, address: IPv6Address)]] = []
    }

    /// Builds the lab; on failure everything made so far is removed again.
    public func run(names: LabNames, progress: (String) -> Void = { _ in }) throws -> Result {
        let lab = try Lab(names: names, ipv6: ipv6, ipv6Only: ipv6Only, etcdMembers: etcdMembers)
        do {
            let etcd = lab.etcdMembers.count == 1 ? "etcd at \(lab.etcdEndpoint) in \(lab.etcdNamespace)"
                : "etcd members " + lab.etcdMembers.map { "\($0.name) \($0.clientURL)" }.joined(separator: ", ")
            progress("lab \(lab.names.run): switch \(lab.switchNamespace), \(etcd)")
            try lab.etcdctl(["put", "/coreos.com/network/config", networkConfig])
            progress("etcdctl put /coreos.com/network/config '\(networkConfig)'")
            let labHosts = try (1...max(1, hosts)).map { try lab.addHost($0) }
            for host in labHosts { try host.startAgent(binary: flanneld, arguments: agentArguments) }
            let files = try labHosts.map { try $0.waitForSubnetFile() }
            let hostNames = labHosts.map { host in ipv6Only ? "h\(host.index) (\(Lab.ipv6Address(ofHost: host.index)))" : "h\(host.index) (\(host.address))" }
            progress("flanneld running on " + zip(hostNames, files).map { "\($0) → \($1.subnetsText)" }.joined(separator: ", "))
            if ipv6Only {
                let containers = try labHosts.map { host in try (0..<containersPerHost).map { _ in try host.addIPv6Container() } }
                var result = Result(lab: lab, hosts: labHosts, subnetFiles: files, containers: labHosts.map { _ in [] })
                result.ipv6Containers = containers
                return result
            }
            let containers = try labHosts.map { host in try (0..<containersPerHost).map { _ in try host.addContainer() } }
            return Result(lab: lab, hosts: labHosts, subnetFiles: files, containers: containers)
        } catch {
            lab.destroy()
            throw error
        }
    }
}
