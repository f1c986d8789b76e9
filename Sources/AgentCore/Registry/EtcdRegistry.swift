/// flannel's registry operations on etcd v3, as upstream performs them (grant + "create if
/// version is 0" transaction; list then watch from revision + 1), with upstream's defects
/// fixed: a lost create race revokes the grant and reports the conflict instead of
/// failing; renewal only rewrites a key that still holds our value; reservations keep no TTL.
public struct EtcdRegistry: Registry {
    public let kv: any EtcdKV
    public let layout: EtcdKeyLayout

    public init(kv: any EtcdKV, layout: EtcdKeyLayout) {
        self.kv = kv
        self.layout = layout
    }

    public func networkConfig() async throws -> String? {
        try await kv.range(key: layout.configKey).kvs.first?.value
    }

    public func listLeases() async throws -> LeaseListing {
        LeaseOperations.listing(from: try await kv.range(prefix: layout.subnetsPrefix + "/"), layout: layout)
    }

    public func createLease(_ key: SubnetKey, attributes: LeaseAttributes, ttl: Duration) async throws -> Int64? {
        let lease = try await kv.grantLease(ttl: LeaseOperations.ttlSeconds(ttl))
        // After a transport error the transaction may still have committed: the grant is
        // left to expire rather than revoked, which could delete the key just written.
        let result = try await run(LeaseOperations.createRequest(key, attributes: attributes, lease: lease, layout: layout))
        guard let revision = LeaseOperations.interpretCreate(result, lease: lease) else {
            try? await kv.revokeLease(lease)
            return nil
        }
        return revision
    }

    public func updateLease(_ key: SubnetKey, attributes: LeaseAttributes, ttl: Duration?,
                            expectedModRevision: Int64) async throws -> LeaseUpdateOutcome {
        var expected = expectedModRevision
        // Two rounds at most: the second covers a key rewritten with our own value.
        for _ in 0..<2 {
            var lease: Int64 = 0
            if let ttl { lease = try await kv.grantLease(ttl: LeaseOperations.ttlSeconds(ttl)) }
            let result = try await run(LeaseOperations.updateRequest(
                key, attributes: attributes, lease: lease, expectedModRevision: expected, layout: layout))
            let step = LeaseOperations.interpretUpdate(result, attributes: attributes, lease: lease, layout: layout)
            if case .finished(.updated) = step {} else if lease != 0 { try? await kv.revokeLease(lease) }
            switch step {
            case let .finished(outcome): return outcome
            case let .retry(revision): expected = revision
            }
        }
        throw RegistryContention(key: layout.leaseKey(key))
    }

    public func deleteLease(_ key: SubnetKey, expectedModRevision: Int64) async throws {
        _ = try await run(LeaseOperations.deleteRequest(key, expectedModRevision: expectedModRevision, layout: layout))
    }

    private func run(_ request: LeaseOperations.TxnRequest) async throws -> TxnResult {
        try await kv.txn(compare: request.compare, success: request.success, failure: request.failure)
    }

    public func leaseTimeToLive(_ key: SubnetKey) async throws -> LeaseTimeToLive {
        guard let entry = try await kv.range(key: layout.leaseKey(key)).kvs.first else { return .absent }
        if entry.lease == 0 { return .reservation }
        guard let seconds = try await kv.timeToLive(entry.lease) else { return .absent }
        return .expires(in: .seconds(seconds))
    }

    public func watchLeases(after revision: Int64) -> AsyncThrowingStream<LeaseEventBatch, any Error> {
        let layout = self.layout
        let start: Int64
        do {
            start = try EtcdRevision.after(revision)
        } catch {
            return AsyncThrowingStream { $0.finish(throwing: error) }
        }
        let upstream = kv.watch(prefix: layout.subnetsPrefix + "/", fromRevision: start)
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
