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

    /// The lab's dual-stack network config: 10.1.0.0/16 and fd00:10:1::/48 (/24s and /64s).
    public static func dualStackConfig(backend: String) -> String {
        #"{ "Network": "10.1.0.0/16", "EnableIPv6": true, "IPv6Network": "fd00:10:1::/48", "Backend": { "Type": "\#(backend)" } }"#
    }

    public init(flanneld: String) {
        self.flanneld = flanneld
    }

    public struct Result {
        public let lab: Lab
        public let hosts: [LabHost]
        public let subnetFiles: [SubnetFile]
        /// Per host, its containers' namespaces and addresses.
        public let containers: [[(namespace: Namespace, address: IPv4Address)]]
    }

    /// Builds the lab; on failure everything made so far is removed again.
    public func run(names: LabNames, progress: (String) -> Void = { _ in }) throws -> Result {
        let lab = try Lab(names: names, ipv6: ipv6)
        do {
            progress("lab \(lab.names.run): switch \(lab.switchNamespace), etcd at \(lab.etcdEndpoint) in \(lab.etcdNamespace)")
            try lab.etcdctl(["put", "/coreos.com/network/config", networkConfig])
            progress("etcdctl put /coreos.com/network/config '\(networkConfig)'")
            let labHosts = try (1...max(1, hosts)).map { try lab.addHost($0) }
            for host in labHosts { try host.startAgent(binary: flanneld, arguments: agentArguments) }
            let files = try labHosts.map { try $0.waitForSubnetFile() }
            progress("flanneld running on " + zip(labHosts, files).map { "h\($0.index) (\($0.address)) → \($1.subnetsText)" }.joined(separator: ", "))
            let containers = try labHosts.map { host in try (0..<containersPerHost).map { _ in try host.addContainer() } }
            return Result(lab: lab, hosts: labHosts, subnetFiles: files, containers: containers)
        } catch {
            lab.destroy()
            throw error
        }
    }
}
