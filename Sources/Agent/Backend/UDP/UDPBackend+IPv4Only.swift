import AgentCore

extension UDPBackend {
    /// udp was asked to carry a lease without an IPv4 subnet (the agent refuses IPv6-only
    /// networks for udp before this can happen).
    struct IPv4Only: Error, CustomStringConvertible {
        var description: String {
            "udp backend: the lease has no IPv4 subnet; udp carries IPv4 only (as upstream's): use vxlan or host-gw for an IPv6-only network"
        }
    }
}
