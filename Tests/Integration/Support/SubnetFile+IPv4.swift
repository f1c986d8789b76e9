import AgentCore
import Testing

extension SubnetFile {
    /// The IPv4 subnet of an IPv4 or dual-stack lab's file; a recorded failure (and a /32 that
    /// matches nothing) when it names none.
    var ipv4: IPv4Network {
        guard let subnet else {
            Issue.record("subnet.env has no FLANNEL_SUBNET (\(rendered.split(separator: "\n").joined(separator: " ")))")
            return IPv4Network("0.0.0.0/32")!
        }
        return subnet
    }
}
