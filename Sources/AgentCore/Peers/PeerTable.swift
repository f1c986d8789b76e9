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
    /// Names us where PublicIP cannot: a host without IPv4 (see `LeaseAttributes.isHeld`).
    public let ownPublicIPv6: IPv6Address?
    /// The revision the table reflects; the watch resumes after it.
    public private(set) var revision: Int64 = 0

    public init(ownPublicIP: IPv4Address, ownPublicIPv6: IPv6Address? = nil, ownKey: SubnetKey? = nil) {
        self.ownPublicIP = ownPublicIP
        self.ownPublicIPv6 = ownPublicIPv6
        self.ownKey = ownKey
    }

    private func isOurs(_ attributes: LeaseAttributes) -> Bool {
        attributes.isHeld(byPublicIP: ownPublicIP, publicIPv6: ownPublicIPv6)
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
        let old = ownKey
        ownKey = key
        guard old != key else { return [] }
        // Only the two keys change sides; in subnet order like every diff.
        return [old, key].compactMap { $0 }.sorted().compactMap { changed -> Change? in
            guard let attributes = leases[changed] else { return nil }
            return changed == old ? .added(Peer(key: changed, attributes: attributes)) : .removed(Peer(key: changed, attributes: attributes))
        }
    }

    /// Takes `reference`'s leases and revision, as if this table had applied every batch
    /// `reference` applied since both last held the same leases. Exact only when none of those
    /// batches mentioned our own key or was malformed, so that each carried nothing but peer
    /// changes: the caller knows (the simulator's agents that follow a shared table).
    public mutating func catchUp(to reference: PeerTable) {
        guard reference.revision > revision else { return }
        store = reference.store
        revision = reference.revision
    }

    /// Replaces the table with a full listing and reports the difference.
    public mutating func applySnapshot(_ listing: LeaseListing, sharing: Sharing? = nil) -> [Change] {
        if store.leases.isEmpty, listing.malformed.isEmpty, Self.isInSubnetOrder(listing.records) {
            return applyFirstSnapshot(listing, sharing: sharing)
        }
        var fresh: [SubnetKey: LeaseAttributes] = [:]
        for record in listing.records { fresh[record.key] = record.attributes }
        var changes: [Change] = listing.malformed.map { .malformed($0) }
        // A key whose value went bad keeps its last good value (see the type's comment).
        for case let key? in listing.malformed.map(\.subnet) where fresh[key] == nil {
            fresh[key] = leases[key]
        }
        if let ownKey {
            if let before = leases[ownKey], fresh[ownKey] == nil, isOurs(before) {
                changes.append(.ownLeaseRemoved(ownKey, revision: listing.revision))
            } else if let now = fresh[ownKey], !isOurs(now), leases[ownKey] != now {
                changes.append(.ownLeaseOverwritten(ownKey, now, revision: listing.revision))
            }
        }
        let before = store.leases
        store = LeaseStore(fresh)
        revision = max(revision, listing.revision)
        sharing?.intern(&store, revision: revision)
        return changes + diff(from: before, to: fresh)
    }

    /// An empty table (an agent that just started) and a clean listing whose records are in
    /// strictly increasing subnet order, as etcd's are here: the same result as the general
    /// path (every lease but ours added, in that order; ours reported if another host holds
    /// it), without sorting, and with the leases of an equal shared store when one exists.
    private mutating func applyFirstSnapshot(_ listing: LeaseListing, sharing: Sharing?) -> [Change] {
        var changes: [Change] = []
        changes.reserveCapacity(listing.records.count + 1)
        if let ownKey, let mine = Self.record(for: ownKey, inSubnetOrder: listing.records)?.attributes, !isOurs(mine) {
            changes.append(.ownLeaseOverwritten(ownKey, mine, revision: listing.revision))
        }
        for record in listing.records where record.key != ownKey {
            changes.append(.added(Peer(key: record.key, attributes: record.attributes)))
        }
        if let shared = sharing?.store(at: listing.revision, matching: listing.records) {
            store = shared
        } else {
            var fresh: [SubnetKey: LeaseAttributes] = [:]
            fresh.reserveCapacity(listing.records.count)
            for record in listing.records { fresh[record.key] = record.attributes }
            store = LeaseStore(fresh)
            sharing?.intern(&store, revision: listing.revision)
        }
        revision = max(revision, listing.revision)
        return changes
    }

    /// Whether the records' subnets strictly increase (so their keys are distinct and already sorted).
    static func isInSubnetOrder(_ records: [LeaseRecord]) -> Bool {
        // By index: zipping would copy every record (thousands per listing in the simulator).
        records.indices.dropFirst().allSatisfy { records[$0 - 1].key < records[$0].key }
    }

    /// The record for `key` in records sorted by subnet, by bisection.
    static func record(for key: SubnetKey, inSubnetOrder records: [LeaseRecord]) -> LeaseRecord? {
        var low = 0, high = records.count
        while low < high {
            let middle = (low + high) / 2
            if records[middle].key < key { low = middle + 1 } else { high = middle }
        }
        return low < records.count && records[low].key == key ? records[low] : nil
    }

    /// Applies one watch batch.
    public mutating func apply(_ batch: LeaseEventBatch, sharing: Sharing? = nil) -> [Change] {
        // A late batch from a watch that a re-list already covered would undo newer state.
        guard batch.revision > revision else { return [] }
        // Another table took this very store through this batch: same result, unless our own
        // key is in it (then the changes are ours to work out; the leases are still the same).
        let shared = sharing?.result(of: batch, from: store)
        let involvesOwnKey = ownKey.map { batch.mentions($0) } ?? false
        if let shared, let changes = shared.changes, !involvesOwnKey {
            store = shared.after
            revision = batch.revision
            return changes
        }
        var changes: [Change] = []
        // The batch's writes, read before the store, and written to it at the end.
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
                    if !isOurs(record.attributes) {
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
        revision = max(revision, batch.revision)
        if let shared {
            store = shared.after
        } else if written.isEmpty {
            sharing?.record(batch, from: store, to: store, changes: involvesOwnKey ? nil : changes)
        } else if isKnownUniquelyReferenced(&store) {
            // Nobody shares this store: written in place (no other table can reuse the result).
            for (key, value) in written { store.set(key, value) }
            sharing?.intern(&store, revision: revision)
        } else {
            let before = store
            store = before.copy()
            for (key, value) in written { store.set(key, value) }
            if let sharing {
                sharing.intern(&store, revision: revision)
                sharing.record(batch, from: before, to: store, changes: involvesOwnKey ? nil : changes)
            }
        }
        return changes
    }

    /// Lets tables that apply the same history share their leases and the work: a batch
    /// applied to a store another table already took through it adopts that table's result,
    /// and tables reaching the same content at the same revision (by a batch or a listing) end
    /// up holding one copy. Remembers the last `window` revisions.
    public final class Sharing {
        struct Result {
            let batch: LeaseEventBatch
            let before: LeaseStore
            let after: LeaseStore
            /// The changes for a table whose own key is not in the batch; nil when unknown.
            let changes: [Change]?
        }

        /// How many recent revisions are remembered: a broadcast of several batches goes
        /// watcher by watcher, each taking every batch in turn.
        static let window: Int64 = 16

        private var latest: Int64 = -1
        private var results: [ResultKey: Result] = [:]
        private var interned: [InternKey: LeaseStore] = [:]
        /// One store interned at each recent revision, for listings to compare against.
        private var someStore: [Int64: LeaseStore] = [:]
        /// The last listing found equal to a store: the same records (the same array, held
        /// here so that its storage cannot be reused) need no second comparison.
        private var lastMatch: (revision: Int64, records: [LeaseRecord], store: LeaseStore)?

        public init() {}

        private struct ResultKey: Hashable {
            var revision: Int64
            var before: ObjectIdentifier
        }

        private struct InternKey: Hashable {
            var revision: Int64
            var fingerprint: UInt64
            var count: Int
        }

        private func note(_ revision: Int64) {
            guard revision > latest else { return }
            latest = revision
            let oldest = revision - Self.window
            if results.keys.contains(where: { $0.revision < oldest }) { results = results.filter { $0.key.revision >= oldest } }
            if interned.keys.contains(where: { $0.revision < oldest }) { interned = interned.filter { $0.key.revision >= oldest } }
            if someStore.keys.contains(where: { $0 < oldest }) { someStore = someStore.filter { $0.key >= oldest } }
            if let lastMatch, lastMatch.revision < oldest { self.lastMatch = nil }
        }

        /// What another table got from this very batch on this very store.
        func result(of batch: LeaseEventBatch, from before: LeaseStore) -> Result? {
            guard let result = results[ResultKey(revision: batch.revision, before: ObjectIdentifier(before))],
                  result.batch == batch else { return nil }
            return result
        }

        func record(_ batch: LeaseEventBatch, from before: LeaseStore, to after: LeaseStore, changes: [Change]?) {
            note(batch.revision)
            results[ResultKey(revision: batch.revision, before: ObjectIdentifier(before))] =
                Result(batch: batch, before: before, after: after, changes: changes)
        }

        /// Replaces `store` with an equal one already held at this revision, if any (the
        /// fingerprint finds candidates; the contents decide).
        func intern(_ store: inout LeaseStore, revision: Int64) {
            note(revision)
            let key = InternKey(revision: revision, fingerprint: store.fingerprint, count: store.leases.count)
            if let existing = interned[key] {
                if existing !== store && existing.leases == store.leases { store = existing }
            } else {
                interned[key] = store
                if someStore[revision] == nil { someStore[revision] = store }
            }
        }

        /// A store held at `revision` whose leases are exactly `records`, checked entry by entry.
        func store(at revision: Int64, matching records: [LeaseRecord]) -> LeaseStore? {
            if let lastMatch, lastMatch.revision == revision, lastMatch.records.count == records.count,
               lastMatch.records.withUnsafeBufferPointer({ known in records.withUnsafeBufferPointer { $0.baseAddress == known.baseAddress } }) {
                return lastMatch.store
            }
            guard let candidate = someStore[revision], candidate.leases.count == records.count,
                  records.allSatisfy({ candidate.leases[$0.key] == $0.attributes }) else { return nil }
            lastMatch = (revision, records, candidate)
            return candidate
        }
    }

    /// Peer changes from `before` to `after` (our own key is never a peer), in subnet order
    /// so that every run reports the same.
    private func diff(from before: [SubnetKey: LeaseAttributes], to after: [SubnetKey: LeaseAttributes]) -> [Change] {
        var changes: [Change] = []
        var keys = before.isEmpty ? Array(after.keys) : after.isEmpty ? Array(before.keys) : Array(Set(before.keys).union(after.keys))
        keys.sort()
        changes.reserveCapacity(before.isEmpty ? keys.count : 0)
        for key in keys where key != ownKey {
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

extension LeaseEventBatch {
    /// Whether a put or delete in the batch is about `key`.
    func mentions(_ key: SubnetKey) -> Bool {
        events.contains { event in
            switch event {
            case let .put(record): record.key == key
            case let .delete(deleted): deleted == key
            case .malformed: false
            }
        }
    }
}
