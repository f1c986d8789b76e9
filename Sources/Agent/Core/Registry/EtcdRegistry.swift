/// flannel's registry operations on etcd v3, as upstream performs them (grant + "create if
/// version is 0" transaction; list then watch from revision + 1), with upstream's defects
/// fixed: a lost create race revokes the grant and reports the conflict instead of
/// failing; renewal only rewrites a key that still holds our value; reservations keep no TTL.
public struct EtcdRegistry<KV: EtcdKV>: Registry {
    public let kv: KV
    public let layout: EtcdKeyLayout

    public init(kv: KV, layout: EtcdKeyLayout) {
        self.kv = kv
        self.layout = layout
    }

    public func networkConfig() async throws -> String? {
        try await kv.range(key: layout.configKey).kvs.first?.value
    }

    public func listLeases() async throws -> LeaseListing {
        let result = try await kv.range(prefix: layout.subnetsPrefix + "/")
        var records: [LeaseRecord] = []
        var malformed: [MalformedLease] = []
        for entry in result.kvs {
            switch layout.parse(entry) {
            case let .success(record): records.append(record)
            case let .failure(problem): malformed.append(problem)
            }
        }
        records.sort { $0.key < $1.key }
        return LeaseListing(records: records, malformed: malformed, revision: result.revision)
    }

    public func createLease(_ key: SubnetKey, attributes: LeaseAttributes, ttl: Duration) async throws -> Int64? {
        let etcdKey = layout.leaseKey(key)
        let lease = try await kv.grantLease(ttl: max(1, ttl.wholeSecondsRoundedUp))
        let result: TxnResult
        do {
            result = try await kv.txn(
                compare: [.versionEquals(key: etcdKey, 0)],
                success: [.put(key: etcdKey, value: attributes.encoded, lease: lease)],
                failure: [])
        } catch {
            try? await kv.revokeLease(lease)
            throw error
        }
        guard result.succeeded else {
            try? await kv.revokeLease(lease)
            return nil
        }
        return result.revision
    }

    public func updateLease(_ key: SubnetKey, attributes: LeaseAttributes, ttl: Duration?,
                            expectedModRevision: Int64) async throws -> LeaseUpdateOutcome {
        let etcdKey = layout.leaseKey(key)
        var expected = expectedModRevision
        // Two rounds: the second covers a key rewritten with our own value by someone else
        // (an operator's `etcdctl put`, or our previous incarnation).
        for _ in 0..<2 {
            var lease: Int64 = 0
            if let ttl { lease = try await kv.grantLease(ttl: max(1, ttl.wholeSecondsRoundedUp)) }
            let result: TxnResult
            do {
                result = try await kv.txn(
                    compare: [.modRevisionEquals(key: etcdKey, expected)],
                    success: [.put(key: etcdKey, value: attributes.encoded, lease: lease)],
                    failure: [.get(key: etcdKey)])
            } catch {
                if lease != 0 { try? await kv.revokeLease(lease) }
                throw error
            }
            if result.succeeded { return .updated(modRevision: result.revision) }
            if lease != 0 { try? await kv.revokeLease(lease) }
            guard let current = result.gets.first ?? nil else { return .missing }
            guard case let .success(record) = layout.parse(current),
                  record.attributes.publicIP == attributes.publicIP
            else {
                let holder = (try? LeaseAttributes.decode(current.value)) ?? LeaseAttributes(publicIP: .any)
                return .heldByOther(holder)
            }
            expected = current.modRevision
        }
        return .missing
    }

    public func deleteLease(_ key: SubnetKey) async throws {
        _ = try await kv.txn(compare: [], success: [.delete(key: layout.leaseKey(key))], failure: [])
    }

    public func leaseTimeToLive(_ key: SubnetKey) async throws -> LeaseTimeToLive {
        guard let entry = try await kv.range(key: layout.leaseKey(key)).kvs.first else { return .absent }
        if entry.lease == 0 { return .reservation }
        guard let seconds = try await kv.timeToLive(entry.lease) else { return .absent }
        return .expires(in: .seconds(seconds))
    }

    public func watchLeases(after revision: Int64) -> AsyncThrowingStream<LeaseEventBatch, any Error> {
        let layout = self.layout
        let upstream = kv.watch(prefix: layout.subnetsPrefix + "/", fromRevision: revision + 1)
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for try await batch in upstream {
                        continuation.yield(Self.leaseEvents(batch, layout: layout))
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Turns raw etcd events into lease events; a delete of an unparsable key is dropped (we
    /// never held a lease for it).
    public static func leaseEvents(_ batch: WatchBatch, layout: EtcdKeyLayout) -> LeaseEventBatch {
        var events: [LeaseEvent] = []
        for event in batch.events {
            switch event.kind {
            case .put:
                switch layout.parse(event.kv) {
                case let .success(record): events.append(.put(record))
                case let .failure(problem): events.append(.malformed(problem))
                }
            case .delete:
                guard let name = layout.leaseName(ofKey: event.kv.key),
                      let key = try? SubnetKey(parsing: name) else { continue }
                events.append(.delete(key))
            }
        }
        return LeaseEventBatch(events: events, revision: batch.revision)
    }
}
