import AgentCore

/// flannel's lease operations run synchronously against the in-memory etcd, with the same
/// requests `EtcdRegistry` sends to a real one (`LeaseOperations`). The simulator's hosts and
/// the allocation-race tests use these.
extension InMemoryEtcd {
    public func listLeases(layout: EtcdKeyLayout) -> LeaseListing {
        LeaseOperations.listing(from: range(prefix: layout.subnetsPrefix + "/"), layout: layout)
    }

    public mutating func createLease(_ key: SubnetKey, attributes: LeaseAttributes, ttl: Duration,
                                     layout: EtcdKeyLayout) throws(EtcdError) -> Int64? {
        let lease = try grantLease(ttl: LeaseOperations.ttlSeconds(ttl))
        let result = try run(LeaseOperations.createRequest(key, attributes: attributes, lease: lease, layout: layout))
        guard let revision = LeaseOperations.interpretCreate(result, lease: lease) else {
            try? revokeLease(lease)
            return nil
        }
        return revision
    }

    public mutating func updateLease(_ key: SubnetKey, attributes: LeaseAttributes, ttl: Duration?,
                                     expectedModRevision: Int64, layout: EtcdKeyLayout) throws(EtcdError) -> LeaseUpdateOutcome {
        var expected = expectedModRevision
        for _ in 0..<2 {
            let lease = try ttl.map { ttl throws(EtcdError) in try grantLease(ttl: LeaseOperations.ttlSeconds(ttl)) } ?? 0
            let result = try run(LeaseOperations.updateRequest(
                key, attributes: attributes, lease: lease, expectedModRevision: expected, layout: layout))
            let step = LeaseOperations.interpretUpdate(result, attributes: attributes, lease: lease, layout: layout)
            if case .finished(.updated) = step {} else if lease != 0 { try? revokeLease(lease) }
            switch step {
            case let .finished(outcome): return outcome
            case let .retry(revision): expected = revision
            }
        }
        throw .invalidRequest(RegistryContention(key: layout.leaseKey(key)).description)
    }

    public mutating func deleteLease(_ key: SubnetKey, expectedModRevision: Int64, layout: EtcdKeyLayout) {
        _ = try? run(LeaseOperations.deleteRequest(key, expectedModRevision: expectedModRevision, layout: layout))
    }

    private mutating func run(_ request: LeaseOperations.TxnRequest) throws(EtcdError) -> TxnResult {
        try txn(compare: request.compare, success: request.success, failure: request.failure)
    }
}
