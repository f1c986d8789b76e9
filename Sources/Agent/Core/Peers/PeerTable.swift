/// The other hosts' leases, kept from a listing and the watch that follows it, turned into
/// the changes a backend programs: added, changed, removed.
///
/// Rules (COMPAT.md): our own subnet is never a peer; a delete uses the cached lease (the
/// event has no value); a repeated put of the same value (every renewal) changes nothing;
/// a re-list after compaction is diffed against what we had; a malformed entry is reported
/// and skipped, and a good lease whose value turns bad keeps its last good value rather
/// than dropping routes that work.
public struct PeerTable: Sendable {
    public enum Change: Equatable, Sendable {
        case added(Peer)
        case changed(from: Peer, to: Peer)
        case removed(Peer)
        case malformed(MalformedLease)
        /// Our key was deleted (expired or removed), as seen at `revision`: for the lease machine.
        case ownLeaseRemoved(SubnetKey, revision: Int64)
        /// Another host's value was written under our key at `revision`: for the lease machine.
        case ownLeaseOverwritten(SubnetKey, LeaseAttributes, revision: Int64)
    }

    /// Every lease we know of, ours included, by key.
    private var leases: [SubnetKey: LeaseAttributes] = [:]
    public private(set) var ownKey: SubnetKey?
    public let ownPublicIP: IPv4Address
    /// The revision the table reflects; the watch resumes after it.
    public private(set) var revision: Int64 = 0

    public init(ownPublicIP: IPv4Address, ownKey: SubnetKey? = nil) {
        self.ownPublicIP = ownPublicIP
        self.ownKey = ownKey
    }

    /// The peers, sorted by subnet.
    public var peers: [Peer] {
        leases.keys.sorted().compactMap { key in
            key == ownKey ? nil : Peer(key: key, attributes: leases[key]!)
        }
    }

    /// How many peers, without building the sorted list.
    public var peerCount: Int { leases.count - (ownKey.map { leases[$0] != nil ? 1 : 0 } ?? 0) }

    public func peer(for key: SubnetKey) -> Peer? {
        guard key != ownKey, let attributes = leases[key] else { return nil }
        return Peer(key: key, attributes: attributes)
    }

    /// Our subnet changed (first lease, or a drift): the old one may now be a peer's, the
    /// new one stops being a peer.
    public mutating func setOwnKey(_ key: SubnetKey?) -> [Change] {
        let before = peersByKey()
        ownKey = key
        return diff(from: before, to: peersByKey())
    }

    /// Replaces the table with a full listing and reports the difference.
    public mutating func applySnapshot(_ listing: LeaseListing) -> [Change] {
        let before = peersByKey()
        var fresh: [SubnetKey: LeaseAttributes] = [:]
        for record in listing.records { fresh[record.key] = record.attributes }
        var changes: [Change] = listing.malformed.map { .malformed($0) }
        // A key whose value went bad keeps its last good value (see the type's comment).
        for case let key? in listing.malformed.map(\.subnet) where fresh[key] == nil {
            fresh[key] = leases[key]
        }
        if let ownKey {
            if let before = leases[ownKey], fresh[ownKey] == nil, before.publicIP == ownPublicIP {
                changes.append(.ownLeaseRemoved(ownKey, revision: listing.revision))
            } else if let now = fresh[ownKey], now.publicIP != ownPublicIP, leases[ownKey] != now {
                changes.append(.ownLeaseOverwritten(ownKey, now, revision: listing.revision))
            }
        }
        leases = fresh
        revision = max(revision, listing.revision)
        return changes + diff(from: before, to: peersByKey())
    }

    /// Applies one watch batch.
    public mutating func apply(_ batch: LeaseEventBatch) -> [Change] {
        // A late batch from a watch that a re-list already covered would undo newer state.
        guard batch.revision > revision else { return [] }
        var changes: [Change] = []
        for event in batch.events {
            switch event {
            case let .malformed(problem):
                changes.append(.malformed(problem))
            case let .put(record):
                let previous = leases[record.key]
                guard previous != record.attributes else { continue }
                leases[record.key] = record.attributes
                if record.key == ownKey {
                    if record.attributes.publicIP != ownPublicIP {
                        changes.append(.ownLeaseOverwritten(record.key, record.attributes, revision: batch.revision))
                    }
                    continue
                }
                let peer = Peer(key: record.key, attributes: record.attributes)
                if let previous {
                    changes.append(.changed(from: Peer(key: record.key, attributes: previous), to: peer))
                } else {
                    changes.append(.added(peer))
                }
            case let .delete(key):
                guard let previous = leases.removeValue(forKey: key) else { continue }
                if key == ownKey {
                    changes.append(.ownLeaseRemoved(key, revision: batch.revision))
                } else {
                    changes.append(.removed(Peer(key: key, attributes: previous)))
                }
            }
        }
        revision = max(revision, batch.revision)
        return changes
    }

    private func peersByKey() -> [SubnetKey: LeaseAttributes] {
        var result = leases
        if let ownKey { result[ownKey] = nil }
        return result
    }

    /// Changes from `before` to `after`, in subnet order so that every run reports the same.
    private func diff(from before: [SubnetKey: LeaseAttributes], to after: [SubnetKey: LeaseAttributes]) -> [Change] {
        var changes: [Change] = []
        for key in Set(before.keys).union(after.keys).sorted() {
            switch (before[key], after[key]) {
            case let (nil, new?): changes.append(.added(Peer(key: key, attributes: new)))
            case let (old?, nil): changes.append(.removed(Peer(key: key, attributes: old)))
            case let (old?, new?) where old != new:
                changes.append(.changed(from: Peer(key: key, attributes: old), to: Peer(key: key, attributes: new)))
            default: break
            }
        }
        return changes
    }
}
