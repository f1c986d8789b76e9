/// What one peer needs in the kernel, in the order it is programmed: the neighbour entry
/// (vxlan), the forwarding entry (vxlan), then the route that uses them.
public struct KernelPeerProgram: Hashable, Sendable, CustomStringConvertible {
    public var subnet: IPv4Network
    public var neighbour: KernelNeighbour?
    public var fdb: KernelFDBEntry?
    public var route: KernelRoute

    public init(subnet: IPv4Network, neighbour: KernelNeighbour? = nil, fdb: KernelFDBEntry? = nil, route: KernelRoute) {
        self.subnet = subnet
        self.neighbour = neighbour
        self.fdb = fdb
        self.route = route
    }

    public var description: String {
        ([neighbour?.description, fdb?.description, "route \(route)"] as [String?]).compactMap { $0 }.joined(separator: ", ")
    }
}
