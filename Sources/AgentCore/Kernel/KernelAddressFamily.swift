/// What the kernel planner needs of each address family: a peer's subnet of that family, and
/// which of the backend's per-peer rules apply (`program` for IPv4, `programIPv6` for the
/// IPv6 half of a dual-stack lease).
public protocol KernelAddressFamily: IPAddress {
    /// The peer's subnet of this family, or nil when its lease has none.
    static func subnet(of peer: Peer) -> IPNetwork<Self>?
    static func ignoreReason(_ backend: any Backend, _ peer: Peer, on context: KernelPeerContext<Self>) -> String?
    static func program(_ backend: any Backend, _ peer: Peer, on context: KernelPeerContext<Self>) -> KernelPeerProgram<Self>?
}

extension IPv4Address: KernelAddressFamily {
    public static func subnet(of peer: Peer) -> IPv4Network? { peer.subnet }

    public static func ignoreReason(_ backend: any Backend, _ peer: Peer, on context: KernelPeerContext<IPv4Address>) -> String? {
        backend.ignoreReason(peer, on: context)
    }

    public static func program(_ backend: any Backend, _ peer: Peer, on context: KernelPeerContext<IPv4Address>) -> KernelPeerProgram<IPv4Address>? {
        backend.program(peer, on: context)
    }
}

extension IPv6Address: KernelAddressFamily {
    public static func subnet(of peer: Peer) -> IPv6Network? { peer.ipv6Subnet }

    public static func ignoreReason(_ backend: any Backend, _ peer: Peer, on context: KernelPeerContext<IPv6Address>) -> String? {
        backend.ipv6IgnoreReason(peer, on: context)
    }

    public static func program(_ backend: any Backend, _ peer: Peer, on context: KernelPeerContext<IPv6Address>) -> KernelPeerProgram<IPv6Address>? {
        backend.programIPv6(peer, on: context)
    }
}
