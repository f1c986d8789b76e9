import AgentCore

/// etcd v3's semantics, in memory, on time that only moves when told (`advanceTime`).
///
/// What matches etcd (and is checked against a real one by the contract suite): one global
/// revision, starting at 1, bumped once per write transaction (not by reads or no-op
/// transactions); per-key create/mod revision and version (reset by a delete); prefix ranges
/// in key order; transactions guarded by version, mod revision or value; leases with a TTL
/// whose expiry deletes their keys in one revision; watches that replay history from a
/// revision and then follow; compaction, after which watching from an older revision fails
/// with the compact revision.
///
/// Synchronous and single-threaded: the simulator drives it directly, and
/// `InMemoryEtcdServer` wraps it for async callers.
public struct InMemoryEtcd: Sendable {
    public typealias WatchHandler = @Sendable (WatchBatch) -> Void

    private struct Lease: Sendable {
        var ttl: Int64
        var expiresAt: Timestamp
        var keys: Set<String>
    }

    private struct ExpiryEntry: Sendable, HeapOrdered {
        var expiresAt: Timestamp
        var id: Int64
        func precedes(_ other: ExpiryEntry) -> Bool { (expiresAt, id) < (other.expiresAt, other.id) }
    }

    private struct Watcher: Sendable {
        var prefix: String
        /// Events before this revision are not for this watcher (a watch from the future).
        var startRevision: Int64
        var handler: WatchHandler
    }

    /// etcd raises shorter TTLs to its minimum (1.5 × election timeout = 1.5 s with default
    /// settings, rounded up to whole seconds) instead of refusing them.
    public static let minimumLeaseTTL: Int64 = 2

    public private(set) var revision: Int64 = 1
    public private(set) var compactRevision: Int64 = 0
    public private(set) var now: Timestamp
    private var store: [String: KeyValue] = [:]
    private var leases: [Int64: Lease] = [:]
    /// Leases by expiry, a min-heap of (expiresAt, id); an entry whose lease is gone or has
    /// a different expiry is stale and skipped. Keeps expiry O(log n) for large simulations.
    private var expiries = MinHeap<ExpiryEntry>()
    private var nextLeaseID: Int64 = 0x7a1e_0000_0001
    private var history: [WatchBatch] = []
    private var watchers: [Int: Watcher] = [:]
    private var nextWatcherID = 0

    public init(now: Timestamp = .zero) {
        self.now = now
    }

    // MARK: Time

    /// Moves time forward, expiring due leases in expiry order (each in its own revision,
    /// as etcd's lessor revokes them one by one).
    public mutating func advanceTime(to instant: Timestamp) {
        guard instant > now else { return }
        while let first = validFirstExpiry(), first.expiresAt <= instant {
            expiries.popFirst()
            now = max(now, first.expiresAt)
            revokeExisting(first.id)
        }
        now = instant
    }

    private mutating func validFirstExpiry() -> ExpiryEntry? {
        while let first = expiries.first {
            if leases[first.id]?.expiresAt == first.expiresAt { return first }
            expiries.popFirst()
        }
        return nil
    }

    /// What etcd does to every lease when it starts again (its lessor's promote): each gets its
    /// full TTL from now, so an outage never expires a lease by itself.
    public mutating func refreshAllLeases() {
        expiries.removeAll()
        for id in leases.keys.sorted() {
            leases[id]!.expiresAt = now + .seconds(leases[id]!.ttl)
            expiries.push(ExpiryEntry(expiresAt: leases[id]!.expiresAt, id: id))
        }
    }

    /// When the next lease expires, if any: the simulator's next timer.
    public var nextExpiry: Timestamp? {
        mutating get { validFirstExpiry()?.expiresAt }
    }

    // MARK: KV

    public func range(key: String) -> RangeResult {
        RangeResult(kvs: store[key].map { [$0] } ?? [], revision: revision)
    }

    public func range(prefix: String) -> RangeResult {
        let matching = store.keys.filter { $0.hasPrefix(prefix) }
        // etcd orders keys by bytes. For ASCII keys (flannel's) String's own order is the same
        // and far cheaper than comparing byte sequences (a prefix with 10,000 junk keys).
        let keys = matching.allSatisfy { $0.utf8.allSatisfy { $0 < 0x80 } }
            ? matching.sorted()
            : matching.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return RangeResult(kvs: keys.map { store[$0]! }, revision: revision)
    }

    public var keyCount: Int { store.count }

    public mutating func put(key: String, value: String, lease: Int64 = 0) throws(EtcdError) -> Int64 {
        try txn(compare: [], success: [.put(key: key, value: value, lease: lease)], failure: []).revision
    }

    public mutating func delete(key: String) -> Int64 {
        (try? txn(compare: [], success: [.delete(key: key)], failure: []).revision) ?? revision
    }

    public mutating func txn(compare: [TxnCompare], success: [TxnOperation], failure: [TxnOperation]) throws(EtcdError) -> TxnResult {
        let succeeded = compare.allSatisfy(evaluate)
        let operations = succeeded ? success : failure
        // etcd checks every lease first: a put naming an unknown lease fails the whole txn.
        for case let .put(_, _, lease) in operations where lease != 0 && leases[lease] == nil {
            throw .leaseNotFound(lease)
        }
        let writeRevision = revision + 1
        var events: [WatchEvent] = []
        var gets: [KeyValue?] = []
        for operation in operations {
            switch operation {
            case let .get(key):
                gets.append(store[key])
            case let .put(key, value, lease):
                let previous = store[key]
                if let previous, previous.lease != 0 { leases[previous.lease]?.keys.remove(key) }
                let kv = KeyValue(key: key, value: value,
                                  createRevision: previous?.createRevision ?? writeRevision,
                                  modRevision: writeRevision,
                                  version: (previous?.version ?? 0) + 1,
                                  lease: lease)
                store[key] = kv
                if lease != 0 { leases[lease]?.keys.insert(key) }
                events.append(WatchEvent(kind: .put, kv: kv))
            case let .delete(key):
                guard let previous = store.removeValue(forKey: key) else { continue }
                if previous.lease != 0 { leases[previous.lease]?.keys.remove(key) }
                events.append(WatchEvent(kind: .delete, kv: KeyValue(
                    key: key, value: "", createRevision: 0, modRevision: writeRevision, version: 0, lease: 0)))
            }
        }
        commit(events)
        return TxnResult(succeeded: succeeded, revision: revision, gets: gets)
    }

    private func evaluate(_ compare: TxnCompare) -> Bool {
        switch compare {
        case let .versionEquals(key, version): (store[key]?.version ?? 0) == version
        case let .modRevisionEquals(key, modRevision): (store[key]?.modRevision ?? 0) == modRevision
        // etcd: a value comparison against a missing key is false.
        case let .valueEquals(key, value): store[key].map { $0.value == value } ?? false
        }
    }

    private mutating func commit(_ events: [WatchEvent]) {
        guard !events.isEmpty else { return }
        revision += 1
        let batch = WatchBatch(events: events, revision: revision)
        history.append(batch)
        for id in watchers.keys.sorted() {
            let watcher = watchers[id]!
            guard batch.revision >= watcher.startRevision else { continue }
            let matching = batch.events.filter { $0.kv.key.hasPrefix(watcher.prefix) }
            if !matching.isEmpty { watcher.handler(WatchBatch(events: matching, revision: batch.revision)) }
        }
    }

    // MARK: Leases

    public mutating func grantLease(ttl: Int64) throws(EtcdError) -> Int64 {
        guard ttl <= 9_000_000_000 else { throw .invalidRequest("etcdserver: too large lease TTL") }
        let granted = max(ttl, Self.minimumLeaseTTL)
        let id = nextLeaseID
        nextLeaseID += 1
        leases[id] = Lease(ttl: granted, expiresAt: now + .seconds(granted), keys: [])
        expiries.push(ExpiryEntry(expiresAt: now + .seconds(granted), id: id))
        return id
    }

    public mutating func revokeLease(_ id: Int64) throws(EtcdError) {
        guard leases[id] != nil else { throw .leaseNotFound(id) }
        revokeExisting(id)
    }

    private mutating func revokeExisting(_ id: Int64) {
        guard let lease = leases.removeValue(forKey: id) else { return }
        let keys = lease.keys.sorted()
        var events: [WatchEvent] = []
        for key in keys {
            guard store.removeValue(forKey: key) != nil else { continue }
            events.append(WatchEvent(kind: .delete, kv: KeyValue(
                key: key, value: "", createRevision: 0, modRevision: revision + 1, version: 0, lease: 0)))
        }
        commit(events)
    }

    /// Whole seconds left (truncated, as etcd reports them), or nil for an unknown lease.
    public func timeToLive(_ id: Int64) -> Int64? {
        guard let lease = leases[id] else { return nil }
        return (lease.expiresAt - now).nanosecondsClamped / 1_000_000_000
    }

    public var leaseCount: Int { leases.count }

    // MARK: Watch and compaction

    /// Replays history under `prefix` from `fromRevision` (0: from now on) and registers
    /// `handler` for what follows. Fails when that history was compacted away.
    public mutating func watch(prefix: String, fromRevision: Int64, handler: @escaping WatchHandler) throws(EtcdError) -> Int {
        let start = fromRevision > 0 ? fromRevision : revision + 1
        for batch in try history(prefix: prefix, fromRevision: start) { handler(batch) }
        let id = nextWatcherID
        nextWatcherID += 1
        watchers[id] = Watcher(prefix: prefix, startRevision: start, handler: handler)
        return id
    }

    public mutating func cancelWatch(_ id: Int) {
        watchers[id] = nil
    }

    /// Events from `fromRevision` under `prefix`, for pull-style callers (the simulator).
    public func history(prefix: String, fromRevision: Int64) throws(EtcdError) -> [WatchBatch] {
        if fromRevision > 0 && fromRevision < compactRevision {
            throw .compacted(compactRevision: compactRevision)
        }
        // History is in revision order: find the start by bisection (large simulations ask often).
        var low = 0, high = history.count
        while low < high {
            let middle = (low + high) / 2
            if history[middle].revision < fromRevision { low = middle + 1 } else { high = middle }
        }
        return history[low...].compactMap { batch in
            let matching = batch.events.filter { $0.kv.key.hasPrefix(prefix) }
            return matching.isEmpty ? nil : WatchBatch(events: matching, revision: batch.revision)
        }
    }

    /// Discards history before `revision`, as `etcdctl compact` does.
    public mutating func compact(_ revision: Int64) throws(EtcdError) {
        guard revision <= self.revision else {
            throw .invalidRequest("compaction revision \(revision) is in the future (current \(self.revision))")
        }
        guard revision > compactRevision else { throw .compacted(compactRevision: compactRevision) }
        compactRevision = revision
        history.removeAll { $0.revision < revision }
    }
}
