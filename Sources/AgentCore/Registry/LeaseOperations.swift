/// The etcd requests behind flannel's lease operations, and how to read their answers, as
/// pure functions: `EtcdRegistry` runs them asynchronously over the network, the simulator
/// synchronously against the in-memory etcd. One definition, so both do exactly the same.
public enum LeaseOperations {
    public struct TxnRequest: Equatable, Sendable {
        public var compare: [TxnCompare]
        public var success: [TxnOperation]
        public var failure: [TxnOperation]
    }

    /// "Create only if absent": the key's version must be 0. On failure the key is read, so
    /// a retry after an ambiguous error can recognise its own earlier write.
    public static func createRequest(_ key: SubnetKey, attributes: LeaseAttributes, lease: Int64,
                                     layout: EtcdKeyLayout) -> TxnRequest {
        let etcdKey = layout.leaseKey(key)
        return TxnRequest(compare: [.versionEquals(key: etcdKey, 0)],
                          success: [.put(key: etcdKey, value: attributes.encoded, lease: lease)],
                          failure: [.get(key: etcdKey)])
    }

    /// The created key's mod revision, or nil when another host holds the subnet. A key that
    /// already carries `lease` is ours: an earlier attempt committed although its answer was
    /// lost (a timeout, a dropped connection) and the call was repeated.
    public static func interpretCreate(_ result: TxnResult, lease: Int64) -> Int64? {
        if result.succeeded { return result.revision }
        guard let current = result.gets.first ?? nil, lease != 0, current.lease == lease else { return nil }
        return current.modRevision
    }

    /// "Rewrite only what we wrote": the key's mod revision must be ours; on failure, read
    /// the key so the caller can tell "gone" from "someone else's".
    public static func updateRequest(_ key: SubnetKey, attributes: LeaseAttributes, lease: Int64,
                                     expectedModRevision: Int64, layout: EtcdKeyLayout) -> TxnRequest {
        let etcdKey = layout.leaseKey(key)
        return TxnRequest(compare: [.modRevisionEquals(key: etcdKey, expectedModRevision)],
                          success: [.put(key: etcdKey, value: attributes.encoded, lease: lease)],
                          failure: [.get(key: etcdKey)])
    }

    public static func deleteRequest(_ key: SubnetKey, expectedModRevision: Int64, layout: EtcdKeyLayout) -> TxnRequest {
        let etcdKey = layout.leaseKey(key)
        return TxnRequest(compare: [.modRevisionEquals(key: etcdKey, expectedModRevision)],
                          success: [.delete(key: etcdKey)], failure: [])
    }

    /// What to do after an update transaction.
    public enum UpdateStep: Equatable, Sendable {
        case finished(LeaseUpdateOutcome)
        /// The key holds our public IP at another revision (rewritten by an operator or our
        /// previous incarnation): try again against that revision.
        case retry(expectedModRevision: Int64)
    }

    public static func interpretUpdate(_ result: TxnResult, attributes: LeaseAttributes, lease: Int64,
                                       layout: EtcdKeyLayout) -> UpdateStep {
        if result.succeeded { return .finished(.updated(modRevision: result.revision)) }
        guard let current = result.gets.first ?? nil else { return .finished(.missing) }
        // Our own write from an attempt whose answer was lost (see `interpretCreate`).
        if lease != 0 && current.lease == lease { return .finished(.updated(modRevision: current.modRevision)) }
        guard case let .success(record) = layout.parse(current), record.attributes.isSameHost(as: attributes) else {
            let holder = (try? LeaseAttributes.decode(current.value)) ?? LeaseAttributes(publicIP: .any)
            return .finished(.heldByOther(holder))
        }
        return .retry(expectedModRevision: current.modRevision)
    }

    /// Parses a range over `subnets/` into a listing, sorted by subnet.
    public static func listing(from result: RangeResult, layout: EtcdKeyLayout) -> LeaseListing {
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

    /// etcd lease TTLs are whole seconds, at least one.
    public static func ttlSeconds(_ ttl: Duration) -> Int64 { max(1, ttl.wholeSecondsRoundedUp) }
}
