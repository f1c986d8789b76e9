/// The steps that take the kernel from what it has to what the peers need: stale entries
/// removed first (routes before the entries they use), then each peer's missing entries in
/// programming order. Each peer's steps are applied together: when one fails, the ones
/// before it are undone, so no half-programmed peer is left behind.
public struct KernelPlan<Address: IPAddress>: Equatable, Sendable {
    public var removals: [KernelStep<Address>]
    public var additions: [PeerSteps]

    public struct PeerSteps: Equatable, Sendable {
        public var subnet: IPNetwork<Address>
        public var steps: [KernelStep<Address>]
    }

    public var isEmpty: Bool { removals.isEmpty && additions.isEmpty }

    /// Diffs `desired` against `current` (already narrowed to the backend's scope).
    public static func make(desired: [KernelPeerProgram<Address>], current: KernelTables<Address>) -> KernelPlan {
        let desiredNeighbours = Set(desired.compactMap(\.neighbour))
        let desiredNeighbourKeys = Set(desiredNeighbours.map { NeighbourKey($0) })
        let desiredFDB = Set(desired.compactMap(\.fdb))

        var removals: [KernelStep<Address>] = []
        // A route to a destination we still want is overwritten by its replacement instead
        // (no gap) — except an IPv6 one on another device: the kernel checks an onlink
        // gateway against the routes in place and refuses to move it from eth0 to the vxlan
        // device (EINVAL), so it goes first, as upstream deletes before it adds.
        let desiredDevices = Dictionary(desired.map { ($0.route.destination, $0.route.device) }, uniquingKeysWith: { first, _ in first })
        for route in current.routes.sorted() {
            guard let device = desiredDevices[route.destination] else {
                removals.append(.deleteRoute(route))
                continue
            }
            if Address.bitWidth == 128 && device != route.device { removals.append(.deleteRoute(route)) }
        }
        // A MAC whose single entry points elsewhere is moved by its replacement (no gap).
        let desiredMACs = Set(desiredFDB.map { MACKey(device: $0.device.index, mac: $0.mac) })
        let entriesPerMAC = Dictionary(grouping: current.fdb, by: { MACKey(device: $0.device.index, mac: $0.mac) }).mapValues(\.count)
        for entry in current.fdb.sorted() where !desiredFDB.contains(entry) {
            let key = MACKey(device: entry.device.index, mac: entry.mac)
            if desiredMACs.contains(key) && entriesPerMAC[key] == 1 { continue }
            removals.append(.deleteFDB(entry))
        }
        for entry in current.neighbours.sorted() where !desiredNeighbourKeys.contains(NeighbourKey(entry)) {
            removals.append(.deleteNeighbour(entry))
        }

        let currentRoutes = Set(current.routes)
        let currentNeighbours = Set(current.neighbours)
        let currentFDB = Set(current.fdb)
        var additions: [PeerSteps] = []
        for program in desired.sorted(by: { $0.subnet < $1.subnet }) {
            var steps: [KernelStep<Address>] = []
            if let neighbour = program.neighbour, !currentNeighbours.contains(neighbour) {
                steps.append(.replaceNeighbour(neighbour))
            }
            if let fdb = program.fdb, !currentFDB.contains(fdb) {
                steps.append(.replaceFDB(fdb))
            }
            if !currentRoutes.contains(program.route) {
                steps.append(.replaceRoute(program.route))
            }
            if !steps.isEmpty { additions.append(PeerSteps(subnet: program.subnet, steps: steps)) }
        }
        return KernelPlan(removals: removals, additions: additions)
    }

    /// What happened when a plan was applied.
    public struct Outcome: Equatable, Sendable {
        public var applied: [KernelStep<Address>] = []
        public var failures: [Failure] = []
        /// Steps taken back because a later step for the same peer failed.
        public var undone: [KernelStep<Address>] = []

        public struct Failure: Equatable, Sendable, CustomStringConvertible {
            public var step: KernelStep<Address>
            public var reason: String
            public var description: String { "\(step): \(reason)" }
        }
    }

    /// Applies the plan through `apply` (netlink on a host, tables in the simulator).
    /// A failed removal is reported and the rest go on; a failed addition undoes that
    /// peer's earlier steps and moves on to the next peer. The next resync retries.
    public func execute(_ apply: (KernelStep<Address>) throws -> Void) -> Outcome {
        var outcome = Outcome()
        for step in removals {
            do {
                try apply(step)
                outcome.applied.append(step)
            } catch {
                outcome.failures.append(.init(step: step, reason: "\(error)"))
            }
        }
        for peer in additions {
            var done: [KernelStep<Address>] = []
            for step in peer.steps {
                do {
                    try apply(step)
                    done.append(step)
                } catch {
                    outcome.failures.append(.init(step: step, reason: "\(error)"))
                    for earlier in done.reversed() {
                        if (try? apply(earlier.undo)) != nil { outcome.undone.append(earlier) }
                    }
                    done = []
                    break
                }
            }
            outcome.applied += done
        }
        return outcome
    }

    private struct MACKey: Hashable {
        var device: Int
        var mac: MACAddress
    }

    /// A neighbour entry's identity: one MAC per address and device.
    private struct NeighbourKey: Hashable {
        var device: Int
        var address: Address
        init(_ entry: KernelNeighbour<Address>) {
            device = entry.device.index
            address = entry.address
        }
    }
}
