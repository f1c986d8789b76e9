/// The kernel objects a kernel backend manages, as read back from the kernel (or the
/// simulator): only the routes, neighbours and forwarding entries in its scope.
public struct KernelTables: Equatable, Sendable {
    public var routes: [KernelRoute]
    public var neighbours: [KernelNeighbour]
    public var fdb: [KernelFDBEntry]

    public init(routes: [KernelRoute] = [], neighbours: [KernelNeighbour] = [], fdb: [KernelFDBEntry] = []) {
        self.routes = routes
        self.neighbours = neighbours
        self.fdb = fdb
    }
}
