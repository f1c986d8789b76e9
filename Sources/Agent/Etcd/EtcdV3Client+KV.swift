import EtcdProto
import FoundationEssentials
import GRPCCore

/// The key-value and lease calls of `EtcdKV`.
extension EtcdV3Client {
    public func range(key: String) async throws -> RangeResult {
        var request = Etcdserverpb_RangeRequest()
        request.key = Data(key.utf8)
        return try await range(request, key: key)
    }

    /// Keys per page of a prefix listing.
    static let rangePageSize = 1_000

    /// Every key under `prefix`, as of one revision, in pages: one unpaginated answer grows
    /// with the number of leases and the size of whatever else sits under the prefix, and an
    /// answer above the client's limit would fail every listing for good. A page that is still
    /// too large (huge values) is asked for again with fewer keys, down to one.
    public func range(prefix: String) async throws -> RangeResult {
        let end = Self.prefixEnd(prefix)
        var start = Data(prefix.utf8)
        var kvs: [KeyValue] = []
        var revision: Int64 = 0  // the first page: the latest; then that page's, for one snapshot
        var pageSize = Self.rangePageSize
        while true {
            var request = Etcdserverpb_RangeRequest()
            request.key = start
            request.rangeEnd = end
            request.limit = Int64(pageSize)
            request.revision = revision
            let page: Etcdserverpb_RangeResponse
            do {
                page = try await rangePage(request, key: prefix)
            } catch EtcdError.answerTooLarge where pageSize > 1 {
                pageSize = max(1, pageSize / 10)
                continue
            }
            if revision == 0 { revision = try header(page.hasHeader, page.header, call: "Range") }
            kvs += page.kvs.map(Self.keyValue)
            guard page.more else { break }
            // "More" with nothing, or with a last key not past where the page began, would
            // end the listing short or never end it.
            guard let last = page.kvs.last, !last.key.lexicographicallyPrecedes(start) else {
                throw EtcdError.badResponse(endpoint: "etcd", reason: "a page of \(prefix) said there is more but did not advance")
            }
            start = last.key + [0]  // the smallest key after the last one
            pageSize = min(Self.rangePageSize, pageSize * 2)
        }
        return RangeResult(kvs: kvs, revision: revision)
    }

    private func range(_ request: Etcdserverpb_RangeRequest, key: String) async throws -> RangeResult {
        let response = try await rangePage(request, key: key)
        return RangeResult(kvs: response.kvs.map(Self.keyValue), revision: try header(response.hasHeader, response.header, call: "Range"))
    }

    private func rangePage(_ request: Etcdserverpb_RangeRequest, key: String) async throws -> Etcdserverpb_RangeResponse {
        let options = callOptions
        return try await withFailover(key: key) { client, metadata in
            try await Etcdserverpb_KV.Client(wrapping: client).range(request, metadata: metadata, options: options)
        }
    }

    public func txn(compare: [TxnCompare], success: [TxnOperation], failure: [TxnOperation]) async throws -> TxnResult {
        var request = Etcdserverpb_TxnRequest()
        request.compare = compare.map(Self.compare)
        request.success = success.map(Self.requestOp)
        request.failure = failure.map(Self.requestOp)
        let key = compare.first.map(Self.key) ?? (success + failure).first.map(Self.key) ?? ""
        let options = callOptions
        let response = try await withFailover(key: key) { client, metadata in
            try await Etcdserverpb_KV.Client(wrapping: client).txn(request, metadata: metadata, options: options)
        }
        let revision = try header(response.hasHeader, response.header, call: "Txn")
        let executed = response.succeeded ? success : failure
        var gets: [KeyValue?] = []
        for (operation, answer) in zip(executed, response.responses) {
            guard case .get = operation else { continue }
            guard case let .responseRange(range)? = answer.response else {
                throw EtcdError.badResponse(endpoint: "etcd", reason: "a transaction answered a get with something else")
            }
            gets.append(range.kvs.first.map(Self.keyValue))
        }
        return TxnResult(succeeded: response.succeeded, revision: revision, gets: gets)
    }

    public func grantLease(ttl: Int64) async throws -> Int64 {
        var request = Etcdserverpb_LeaseGrantRequest()
        request.ttl = ttl
        let options = callOptions
        let response = try await withFailover(key: "(lease grant)") { client, metadata in
            try await Etcdserverpb_Lease.Client(wrapping: client).leaseGrant(request, metadata: metadata, options: options)
        }
        guard response.error.isEmpty, response.id != 0 else {
            throw EtcdError.invalidRequest("lease grant failed: \(response.error.isEmpty ? "no lease ID" : response.error)")
        }
        return response.id
    }

    public func revokeLease(_ id: Int64) async throws {
        var request = Etcdserverpb_LeaseRevokeRequest()
        request.id = id
        let options = callOptions
        do {
            _ = try await withFailover(key: "(lease revoke)") { client, metadata in
                try await Etcdserverpb_Lease.Client(wrapping: client).leaseRevoke(request, metadata: metadata, options: options)
            }
        } catch EtcdError.leaseNotFound {
            throw EtcdError.leaseNotFound(id)
        }
    }

    public func timeToLive(_ id: Int64) async throws -> Int64? {
        var request = Etcdserverpb_LeaseTimeToLiveRequest()
        request.id = id
        let options = callOptions
        let response = try await withFailover(key: "(lease time-to-live)") { client, metadata in
            try await Etcdserverpb_Lease.Client(wrapping: client).leaseTimeToLive(request, metadata: metadata, options: options)
        }
        // etcd answers TTL -1 for a lease that does not exist.
        return response.ttl < 0 ? nil : response.ttl
    }

    /// Compacts etcd's history (tests and the lab's compaction scenario use it).
    public func compact(revision: Int64) async throws {
        var request = Etcdserverpb_CompactionRequest()
        request.revision = revision
        request.physical = true
        let options = callOptions
        _ = try await withFailover(key: "(compact)") { client, metadata in
            try await Etcdserverpb_KV.Client(wrapping: client).compact(request, metadata: metadata, options: options)
        }
    }

    // MARK: Conversions

    func header(_ present: Bool, _ header: Etcdserverpb_ResponseHeader, call: String) throws -> Int64 {
        guard present, header.revision > 0 else {
            throw EtcdError.badResponse(endpoint: "etcd", reason: "the \(call) answer has no revision header")
        }
        return header.revision
    }

    static func keyValue(_ kv: Mvccpb_KeyValue) -> KeyValue {
        KeyValue(key: String(decoding: kv.key, as: UTF8.self), value: String(decoding: kv.value, as: UTF8.self),
                 createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, lease: kv.lease)
    }

    /// The end of the range holding every key that starts with `prefix` (etcd's convention).
    static func prefixEnd(_ prefix: String) -> Data {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return Data(bytes)
            }
            bytes.removeLast()
        }
        return Data([0]) // every key
    }

    static func key(_ compare: TxnCompare) -> String {
        switch compare {
        case let .versionEquals(key, _), let .modRevisionEquals(key, _), let .valueEquals(key, _): key
        }
    }

    static func key(_ operation: TxnOperation) -> String {
        switch operation {
        case let .put(key, _, _), let .delete(key), let .get(key): key
        }
    }

    static func compare(_ compare: TxnCompare) -> Etcdserverpb_Compare {
        var result = Etcdserverpb_Compare()
        result.result = .equal
        switch compare {
        case let .versionEquals(key, version):
            result.key = Data(key.utf8)
            result.target = .version
            // Set explicitly: VERSION and EQUAL are proto3 zero values, the target value must still be sent.
            result.version = version
        case let .modRevisionEquals(key, revision):
            result.key = Data(key.utf8)
            result.target = .mod
            result.modRevision = revision
        case let .valueEquals(key, value):
            result.key = Data(key.utf8)
            result.target = .value
            result.value = Data(value.utf8)
        }
        return result
    }

    static func requestOp(_ operation: TxnOperation) -> Etcdserverpb_RequestOp {
        var op = Etcdserverpb_RequestOp()
        switch operation {
        case let .put(key, value, lease):
            var put = Etcdserverpb_PutRequest()
            put.key = Data(key.utf8)
            put.value = Data(value.utf8)
            put.lease = lease
            op.request = .requestPut(put)
        case let .delete(key):
            var delete = Etcdserverpb_DeleteRangeRequest()
            delete.key = Data(key.utf8)
            op.request = .requestDeleteRange(delete)
        case let .get(key):
            var range = Etcdserverpb_RangeRequest()
            range.key = Data(key.utf8)
            op.request = .requestRange(range)
        }
        return op
    }
}
