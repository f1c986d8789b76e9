/// One change to the kernel's tables, as a kernel backend makes it.
public enum KernelStep<Address: IPAddress>: Hashable, Sendable, CustomStringConvertible {
    /// Create or overwrite the neighbour entry for the address.
    case replaceNeighbour(KernelNeighbour<Address>)
    case deleteNeighbour(KernelNeighbour<Address>)
    /// Create the forwarding entry, or point the MAC's existing one at this destination.
    case replaceFDB(KernelFDBEntry<Address>)
    case deleteFDB(KernelFDBEntry<Address>)
    /// Create or overwrite the route to the destination.
    case replaceRoute(KernelRoute<Address>)
    case deleteRoute(KernelRoute<Address>)

    public var description: String {
        switch self {
        case let .replaceNeighbour(entry): "add \(entry)"
        case let .deleteNeighbour(entry): "delete \(entry)"
        case let .replaceFDB(entry): "add \(entry)"
        case let .deleteFDB(entry): "delete \(entry)"
        case let .replaceRoute(route): "add route \(route)"
        case let .deleteRoute(route): "delete route \(route)"
        }
    }

    public var isDeletion: Bool {
        switch self {
        case .deleteNeighbour, .deleteFDB, .deleteRoute: true
        case .replaceNeighbour, .replaceFDB, .replaceRoute: false
        }
    }

    /// The step that takes this one back (used when a later step for the same peer fails).
    public var undo: KernelStep {
        switch self {
        case let .replaceNeighbour(entry): .deleteNeighbour(entry)
        case let .deleteNeighbour(entry): .replaceNeighbour(entry)
        case let .replaceFDB(entry): .deleteFDB(entry)
        case let .deleteFDB(entry): .replaceFDB(entry)
        case let .replaceRoute(route): .deleteRoute(route)
        case let .deleteRoute(route): .replaceRoute(route)
        }
    }
}
