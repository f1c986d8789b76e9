import NIOHTTP1

/// flannel's registry operations on etcd's v2 keys API, as flannel 0.7 performed them (a
/// lease is a key with a `ttl`; create with `prevExist=false`; list recursively, then watch
/// with `wait=true&recursive=true&waitIndex=N`), with the same fixes as `EtcdRegistry`:
/// renewal and deletion are compare-and-swap on the index we wrote (`prevIndex`), so an
/// expired key is never resurrected and a peer's never overwritten; reservations keep no TTL.
public struct EtcdV2Registry: Registry {
    public let client: EtcdV2Client
    public let layout: EtcdKeyLayout
    /// How long one watch poll waits for an event before asking again.
    public var watchPoll: Duration = .seconds(60)

    public init(client: EtcdV2Client, layout: EtcdKeyLayout) {
        self.client = client
        self.layout = layout
    }

    public func networkConfig() async throws -> String? {
        switch try await call(.GET, layout.configKey) {
        case let .success(answer, _): return answer.node?.value
        case let .failure(failure) where failure.code == EtcdV2Answer.Failure.keyNotFound: return nil
        case let .failure(failure): throw EtcdError.invalidRequest("reading \(layout.configKey): \(failure)")
        }
    }

    public func listLeases() async throws -> LeaseListing {
        switch try await call(.GET, layout.subnetsPrefix, query: [("recursive", "true"), ("sorted", "true"), ("quorum", "true")]) {
        case let .success(answer, index):
            // The watch resumes after etcd's index; a listing without it cannot be followed.
            guard let index else {
                throw EtcdError.badResponse(endpoint: "etcd", reason: "a listing of \(layout.subnetsPrefix) without X-Etcd-Index")
            }
            return answer.leaseListing(index: index, layout: layout)
        case let .failure(failure) where failure.code == EtcdV2Answer.Failure.keyNotFound:
            return LeaseListing(records: [], revision: failure.index)
        case let .failure(failure): throw EtcdError.invalidRequest("listing \(layout.subnetsPrefix): \(failure)")
        }
    }

    public func createLease(_ key: SubnetKey, attributes: LeaseAttributes, ttl: Duration) async throws -> Int64? {
        let etcdKey = layout.leaseKey(key)
        let value = attributes.encoded
        switch try await call(.PUT, etcdKey, query: [("prevExist", "false")],
                              form: [("value", value), ("ttl", "\(LeaseOperations.ttlSeconds(ttl))")]) {
        case let .success(answer, _):
            return answer.node?.modifiedIndex
        case let .failure(failure) where failure.code == EtcdV2Answer.Failure.nodeExists:
            // Our own write whose answer was lost (the call was repeated): the same value with a
            // TTL. It is taken, with a full TTL again, only by a swap at the index we just read.
            guard case let .success(current, _) = try await call(.GET, etcdKey, query: [("quorum", "true")]), let node = current.node,
                  node.value == value, node.ttl != nil else { return nil }
            guard case let .success(refreshed, _) = try await call(
                .PUT, etcdKey, query: [("prevIndex", "\(node.modifiedIndex)")],
                form: [("value", value), ("ttl", "\(LeaseOperations.ttlSeconds(ttl))")]) else { return nil }
            return refreshed.node?.modifiedIndex
        case let .failure(failure): throw EtcdError.invalidRequest("creating \(etcdKey): \(failure)")
        }
    }

    public func updateLease(_ key: SubnetKey, attributes: LeaseAttributes, ttl: Duration?,
                            expectedModRevision: Int64) async throws -> LeaseUpdateOutcome {
        let etcdKey = layout.leaseKey(key)
        var expected = expectedModRevision
        // Two rounds at most: the second covers a key rewritten with our own public IP.
        for _ in 0..<2 {
            var form = [("value", attributes.encoded)]
            if let ttl { form.append(("ttl", "\(LeaseOperations.ttlSeconds(ttl))")) }
            switch try await call(.PUT, etcdKey, query: [("prevIndex", "\(expected)")], form: form) {
            case let .success(answer, _):
                return .updated(modRevision: answer.node?.modifiedIndex ?? expected)
            case let .failure(failure) where failure.code == EtcdV2Answer.Failure.keyNotFound:
                return .missing
            case let .failure(failure) where failure.code == EtcdV2Answer.Failure.compareFailed:
                guard case let .success(current, _) = try await call(.GET, etcdKey, query: [("quorum", "true")]),
                      let node = current.node else { return .missing }
                guard case let .success(record) = layout.parse(node.keyValue), record.attributes.isSameHost(as: attributes) else {
                    return .heldByOther((try? LeaseAttributes.decode(node.value ?? "")) ?? LeaseAttributes(publicIP: .any))
                }
                expected = node.modifiedIndex
            case let .failure(failure):
                throw EtcdError.invalidRequest("renewing \(etcdKey): \(failure)")
            }
        }
        throw RegistryContention(key: etcdKey)
    }

    public func deleteLease(_ key: SubnetKey, expectedModRevision: Int64) async throws {
        let etcdKey = layout.leaseKey(key)
        switch try await call(.DELETE, etcdKey, query: [("prevIndex", "\(expectedModRevision)")]) {
        case .success: return
        // Gone already, or someone else's now: nothing of ours to delete.
        case let .failure(failure) where [EtcdV2Answer.Failure.keyNotFound, EtcdV2Answer.Failure.compareFailed].contains(failure.code): return
        case let .failure(failure): throw EtcdError.invalidRequest("deleting \(etcdKey): \(failure)")
        }
    }

    public func leaseTimeToLive(_ key: SubnetKey) async throws -> LeaseTimeToLive {
        switch try await call(.GET, layout.leaseKey(key)) {
        case let .success(answer, _):
            guard let node = answer.node else { return .absent }
            return node.ttl.map { .expires(in: .seconds($0)) } ?? .reservation
        case let .failure(failure) where failure.code == EtcdV2Answer.Failure.keyNotFound:
            return .absent
        case let .failure(failure):
            throw EtcdError.invalidRequest("reading \(layout.leaseKey(key)): \(failure)")
        }
    }

    /// One long poll after another from `revision + 1`; an index older than etcd's event
    /// history (the last 1,000 changes) ends the stream with `EtcdError.compacted`: re-list.
    public func watchLeases(after revision: Int64) -> AsyncThrowingStream<LeaseEventBatch, any Error> {
        let registry = self
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var next = try EtcdRevision.after(revision)
                    while !Task.isCancelled {
                        let outcome: Outcome
                        do {
                            outcome = try await registry.call(
                                .GET, registry.layout.subnetsPrefix,
                                query: [("wait", "true"), ("recursive", "true"), ("waitIndex", "\(next)")], timeout: registry.watchPoll)
                        } catch let error as EtcdError {
                            throw error
                        } catch let error as EtcdV2Answer.Unreadable where error.reason == Self.emptyBody {
                            // etcd ended the poll without an event; never a tight loop.
                            try await Task.sleep(for: .milliseconds(100))
                            continue
                        } catch is EtcdV2Client.TimedOut {
                            continue  // a quiet poll: ask again
                        }
                        switch outcome {
                        case let .success(answer, _):
                            guard let node = answer.node else {
                                try await Task.sleep(for: .milliseconds(100))
                                continue
                            }
                            if node.isDirectory && ["delete", "expire", "compareAndDelete"].contains(answer.action) {
                                // The whole subnets directory went at once (etcdctl rm -r): re-list.
                                throw EtcdError.compacted(compactRevision: node.modifiedIndex)
                            }
                            if let batch = answer.leaseEvents(layout: registry.layout) { continuation.yield(batch) }
                            next = max(next, try EtcdRevision.after(node.modifiedIndex))
                        case let .failure(failure) where failure.code == EtcdV2Answer.Failure.eventIndexCleared:
                            throw EtcdError.compacted(compactRevision: failure.index)
                        case let .failure(failure):
                            throw EtcdError.invalidRequest("watching \(registry.layout.subnetsPrefix): \(failure)")
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    // MARK: Requests

    enum Outcome {
        case success(EtcdV2Answer, index: Int64?)
        case failure(EtcdV2Answer.Failure)
    }

    static let emptyBody = "an empty body"

    /// One request and its answer: an action, or etcd's error; anything else (auth refused,
    /// the v2 API switched off, not etcd at all) is thrown as an `EtcdError` that says what to do.
    func call(_ method: HTTPMethod, _ key: String, query: [(String, String)] = [], form: [(String, String)]? = nil,
              timeout: Duration? = nil) async throws -> Outcome {
        let response = try await client.request(method, key: key, query: query, form: form, timeout: timeout)
        let failure = EtcdV2Answer.failure(response.body)
        if failure?.code == EtcdV2Answer.Failure.unauthorized || (response.status == 401 || response.status == 403) && failure == nil {
            throw EtcdError.v2AccessRefused(key: key, user: client.configuration.username)
        }
        if let failure { return .failure(failure) }
        guard (200..<300).contains(response.status) else {
            let reason = response.status == 404
                ? EtcdError.v2Off + " (start etcd 3.4 with --enable-v2, or use --etcd-api=v3)"
                : "HTTP \(response.status): \(response.body.prefix(200))"
            throw EtcdError.badResponse(endpoint: "\(response.endpoint)", reason: reason)
        }
        if response.body.allSatisfy(\.isWhitespace) { throw EtcdV2Answer.Unreadable(reason: Self.emptyBody) }
        do {
            return .success(try EtcdV2Answer.decode(response.body), index: response.index)
        } catch {
            throw EtcdError.badResponse(endpoint: "\(response.endpoint)", reason: "\(error)")
        }
    }
}
