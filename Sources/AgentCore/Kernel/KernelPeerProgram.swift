/// What one peer needs in the kernel, in the order it is programmed: the neighbour entry
/// (vxlan), the forwarding entry (vxlan), then the route that uses them.
public struct KernelPeerProgram<Address: IPAddress>: Hashable, Sendable, CustomStringConvertible {
    public var subnet: IPNetwork<Address>
    public var neighbour: KernelNeighbour<Address>?
    public var fdb: KernelFDBEntry<Address>?
    public var route: KernelRoute<Address>

    public init(subnet: IPNetwork<Address>, neighbour: KernelNeighbour<Address>? = nil, fdb: KernelFDBEntry<Address>? = nil,
                route: KernelRoute<Address>) {
        self.subnet = subnet
        self.neighbour = neighbour
        self.fdb = fdb
        self.route = route
    }

    public var description: String {
        ([neighbour?.description, fdb?.description, "route \(route)"] as [String?]).compactMap { $0 }.joined(separator: ", ")
    }
}
