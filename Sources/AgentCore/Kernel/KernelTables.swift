/// The kernel objects a kernel backend manages, as read back from the kernel (or the
/// simulator), of one address family: only the routes, neighbours and forwarding entries in its scope.
public struct KernelTables<Address: IPAddress>: Equatable, Sendable {
    public var routes: [KernelRoute<Address>]
    public var neighbours: [KernelNeighbour<Address>]
    public var fdb: [KernelFDBEntry<Address>]

    public init(routes: [KernelRoute<Address>] = [], neighbours: [KernelNeighbour<Address>] = [], fdb: [KernelFDBEntry<Address>] = []) {
        self.routes = routes
        self.neighbours = neighbours
        self.fdb = fdb
    }
}
