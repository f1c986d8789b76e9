/// The other hosts' leases, kept from a listing and the watch that follows it, turned into
/// the changes a backend programs: added, changed, removed.
///
/// Rules (COMPAT.md): our own subnet is never a peer; a delete uses the cached lease (the
/// event has no value); a repeated put of the same value (every renewal) changes nothing;
/// a re-list after compaction is diffed against what we had; a malformed entry is reported
/// and skipped, and a good lease whose value turns bad keeps its last good value rather
/// than dropping routes that work.
///
/// Tables fed the same history can share one copy of their leases through a `Sharing`
/// (the simulator's thousands of agents); every result is exactly the unshared one.
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

    /// Every lease we know of, ours included, by key (copy on write, possibly shared).
    private var store = LeaseStore()
    private var leases: [SubnetKey: LeaseAttributes] { store.leases }
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

    /// Whether this table holds the very same copy of the leases as `other` (see `Sharing`).
    public func sharesLeases(with other: PeerTable) -> Bool { store === other.store }

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
    public mutating func applySnapshot(_ listing: LeaseListing, sharing: Sharing? = nil) -> [Change] {
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
        store = LeaseStore(fresh)
        revision = max(revision, listing.revision)
        sharing?.intern(&store, revision: revision)
        return changes + diff(from: before, to: peersByKey())
    }

    /// Applies one watch batch.
    public mutating func apply(_ batch: LeaseEventBatch, sharing: Sharing? = nil) -> [Change] {
        // A late batch from a watch that a re-list already covered would undo newer state.
        guard batch.revision > revision else { return [] }
        var changes: [Change] = []
        // The batch's writes, read before the store, and written to it at the end (or taken
        // from a table that already applied this batch to the same store).
        var written: [SubnetKey: LeaseAttributes?] = [:]
        func current(_ key: SubnetKey) -> LeaseAttributes? {
            if let pending = written[key] { return pending }
            return leases[key]
        }
        for event in batch.events {
            switch event {
            case let .malformed(problem):
                changes.append(.malformed(problem))
            case let .put(record):
                let previous = current(record.key)
                guard previous != record.attributes else { continue }
                written[record.key] = .some(record.attributes)
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
                guard let previous = current(key) else { continue }
                written[key] = .some(nil)
                if key == ownKey {
                    changes.append(.ownLeaseRemoved(key, revision: batch.revision))
                } else {
                    changes.append(.removed(Peer(key: key, attributes: previous)))
                }
            }
        }
        let before = store
        if !written.isEmpty {
            if let shared = sharing?.result(of: batch.revision, from: before) {
                store = shared
            } else {
                if !isKnownUniquelyReferenced(&store) { store = store.copy() }
                for (key, value) in written { store.set(key, value) }
            }
        }
        revision = max(revision, batch.revision)
        if let sharing, !written.isEmpty {
            sharing.record(revision: batch.revision, from: before, to: store)
            sharing.intern(&store, revision: revision)
        }
        return changes
    }

    /// Lets tables that apply the same batches share their leases: a batch applied to a store
    /// that another table already took through it adopts that table's result, and tables
    /// that reach the same content at the same revision end up holding one copy. Keeps only
    /// the latest revision's entries.
    public final class Sharing {
        private var revision: Int64 = -1
        private var results: [ObjectIdentifier: (before: LeaseStore, after: LeaseStore)] = [:]
        private var interned: [InternKey: LeaseStore] = [:]

        public init() {}

        private struct InternKey: Hashable {
            var fingerprint: UInt64
            var count: Int
        }

        private func moveTo(_ revision: Int64) {
            guard revision != self.revision else { return }
            self.revision = revision
            results = [:]
            interned = [:]
        }

        func result(of revision: Int64, from before: LeaseStore) -> LeaseStore? {
            guard revision == self.revision else { return nil }
            return results[ObjectIdentifier(before)]?.after
        }

        func record(revision: Int64, from before: LeaseStore, to after: LeaseStore) {
            moveTo(revision)
            if before !== after { results[ObjectIdentifier(before)] = (before, after) }
        }

        /// Replaces `store` with an equal one already held at this revision, if any.
        func intern(_ store: inout LeaseStore, revision: Int64) {
            moveTo(revision)
            let key = InternKey(fingerprint: store.fingerprint, count: store.leases.count)
            if let existing = interned[key] { store = existing } else { interned[key] = store }
        }
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
