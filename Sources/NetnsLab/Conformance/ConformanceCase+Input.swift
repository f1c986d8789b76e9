import Agent
import Foundation

/// Scenarios of what else is in the registry: garbage, and a second address family.
extension ConformanceCase {
    /// S11's registry half: keys and values that are not leases (not JSON, an impossible
    /// address, a key that is no subnet, an empty value), at start and while watching. The
    /// agent keeps running, routes none of them and routes the good lease that follows.
    static let malformedLeases = ConformanceCase(id: "malformed-leases", origin: "S11", summary: "host-gw: garbage keys and values at start and while watching: the agent keeps running and routes only good leases") { run in
        try run.writeConfig(backend: "host-gw")
        let junk = [("subnets/10.1.230.0-24", "not json"), ("subnets/10.1.231.0-24", #"{"PublicIP":"999.1.1.1"}"#),
                    ("subnets/not-a-subnet", #"{"PublicIP":"192.0.2.70"}"#), ("subnets/10.1.232.0-24", "")]
        for (key, value) in junk { try run.etcd.put(key, value) }
        try run.etcd.put("subnets/10.1.233.0-24", #"{"PublicIP":"192.0.2.71","BackendType":"host-gw"}"#)
        let h1 = try run.addHost()
        try run.start(h1)
        try run.waitForRoute(on: h1, to: IPv4Network(address: IPv4Address(10, 1, 233, 0), prefixLength: 24), containing: "via 192.0.2.71 dev eth0")
        // The same garbage again, now arriving through the watch, then one good lease.
        for (key, value) in junk { try run.etcd.put(key, value + " ") }
        try run.etcd.put("subnets/10.1.234.0-24", #"{"PublicIP":"192.0.2.72","BackendType":"host-gw"}"#)
        try run.waitForRoute(on: h1, to: IPv4Network(address: IPv4Address(10, 1, 234, 0), prefixLength: 24), containing: "via 192.0.2.72 dev eth0",
                             timeout: .seconds(30))
        for third in [230, 231, 232] {
            let subnet = IPv4Network(address: IPv4Address(10, 1, UInt8(third), 0), prefixLength: 24)
            if let route = try run.route(on: h1, to: subnet) {
                throw ConformanceFailure(check: "h1's route for the garbage key of \(subnet)", expected: "none", happened: route)
            }
        }
        if let reason = run.exitReason(h1) {
            throw ConformanceFailure(check: "h1's agent after the garbage", expected: "still running", happened: "it exited: \(reason)")
        }
    }

    /// S21 (dual-stack vxlan): both families' subnets in subnet.env, and containers ping both
    /// ways over IPv4 and IPv6 (ttl and hop limit 62).
    static let dualStack = ConformanceCase(
        id: "dual-stack", origin: "S21", summary: "vxlan dual-stack: IPv4 and IPv6 subnets, containers ping both ways over both families",
        needsIPv6: true,
        notApplicable: { subject in subject.etcdV2 ? "0.7.0 has no IPv6 networks (EnableIPv6 came in v0.15.0)" : nil }) { run in
        try run.etcd.put("config", LabBringUp.dualStackConfig(backend: "vxlan"))
        let (h1, h2) = (try run.addHost(), try run.addHost())
        try run.start(h1)
        try run.start(h2)
        for host in [h1, h2] {
            let file = try host.waitForSubnetFile(timeout: .seconds(5))
            guard file.ipv6Subnet != nil else {
                throw ConformanceFailure(check: "h\(host.index)'s subnet.env", expected: "FLANNEL_IPV6_SUBNET beside FLANNEL_SUBNET", happened: file.rendered)
            }
        }
        let (c1, c2) = try run.pingBothWays(h1, h2, ttl: 62)
        for (from, to) in [(c1, c2), (c2, c1)] {
            guard let target = h1.ipv6Address(of: to.namespace) ?? h2.ipv6Address(of: to.namespace) else {
                throw ConformanceFailure(check: "\(to.namespace)'s IPv6 address", expected: "one from its host's IPv6 subnet", happened: "none")
            }
            try run.ping6(from.namespace, target, hopLimit: 62)
        }
    }
}
