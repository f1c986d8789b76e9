import AgentCore

/// The decoded live leases by etcd key, kept from etcd's events: a listing is built from it
/// rather than by decoding every value again, however many hosts ask (10,000 join at once).
struct SimLiveLeases {
    private var order: [(subnet: SubnetKey, etcdKey: String)] = []
    /// The records in `order`'s order: a listing hands them out without copying.
    private var orderRecords: [LeaseRecord] = []
    private var records: [String: LeaseRecord] = [:]
    private var malformed: [String: MalformedLease] = [:]
    private var cachedListing: LeaseListing?

    /// What `LeaseOperations.listing` returns for a range over `subnets/` at `revision`
    /// (records by subnet, then etcd key).
    mutating func listing(revision: Int64) -> LeaseListing {
        if let cachedListing, cachedListing.revision == revision { return cachedListing }
        let listing = LeaseListing(records: orderRecords, malformed: malformed.keys.sorted().map { malformed[$0]! }, revision: revision)
        cachedListing = listing
        return listing
    }

    /// Takes etcd's events since the last call.
    mutating func index(_ batches: [WatchBatch], layout: EtcdKeyLayout) {
        for batch in batches {
            for event in batch.events {
                let etcdKey = event.kv.key
                if let old = records.removeValue(forKey: etcdKey) {
                    let at = position(of: (old.key, etcdKey))
                    order.remove(at: at)
                    orderRecords.remove(at: at)
                }
                malformed[etcdKey] = nil
                guard event.kind == .put else { continue }
                switch layout.parse(event.kv) {
                case let .success(record):
                    let at = position(of: (record.key, etcdKey))
                    order.insert((record.key, etcdKey), at: at)
                    orderRecords.insert(record, at: at)
                    records[etcdKey] = record
                case let .failure(problem):
                    malformed[etcdKey] = problem
                }
            }
        }
        cachedListing = nil
    }

    private func position(of entry: (subnet: SubnetKey, etcdKey: String)) -> Int {
        var low = 0, high = order.count
        while low < high {
            let middle = (low + high) / 2
            // By key (a total order), then by etcd key for one key in two spellings.
            let here = order[middle]
            let before = here.subnet < entry.subnet || (here.subnet == entry.subnet && here.etcdKey < entry.etcdKey)
            if before { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
