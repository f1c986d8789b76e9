import EtcdProto
import FoundationEssentials
import GRPCCore
import Synchronization

/// The watch of `EtcdKV`: one bidirectional stream per watch.
extension EtcdV3Client {
    /// Changes under `prefix` from `revision`, one batch per revision. The stream ends with
    /// `EtcdError.compacted` when that history is gone, with `EtcdError.permissionDenied`
    /// when the role may not read the prefix (etcd reports that as a cancelled watch, not an
    /// error), and with the transport's error when the connection drops: the caller resumes
    /// from the last revision it saw (`AgentMachine` does).
    public func watch(prefix: String, fromRevision revision: Int64) -> AsyncThrowingStream<WatchBatch, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: WatchBatch.self, throwing: (any Error).self)
        var create = Etcdserverpb_WatchCreateRequest()
        create.key = Data(prefix.utf8)
        create.rangeEnd = Self.prefixEnd(prefix)
        create.startRevision = revision
        var request = Etcdserverpb_WatchRequest()
        request.requestUnion = .createRequest(create)
        let firstMessage = request
        let username = configuration.username

        // The task is created under the lock, so it is registered before it can finish and
        // remove itself, and never started once the client is closed.
        let task: Task<Void, Never>? = state.withLock { state in
            guard !state.closed else { return nil }
            let id = state.nextWatch
            state.nextWatch += 1
            let task = Task {
                defer { _ = self.state.withLock { $0.watches.removeValue(forKey: id) } }
                await self.runWatch(prefix: prefix, firstMessage: firstMessage, username: username, continuation: continuation)
            }
            state.watches[id] = task
            return task
        }
        guard let task else {
            continuation.finish(throwing: CancellationError())
            return stream
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func runWatch(prefix: String, firstMessage: Etcdserverpb_WatchRequest, username: String?,
                          continuation: AsyncThrowingStream<WatchBatch, any Error>.Continuation) async {
        // No deadline: a watch lives as long as its consumer.
        var options = CallOptions.defaults
        options.waitForReady = false
        options.allowAnswers(upTo: configuration.maximumAnswerBytes)
        // Failover is only safe before anything was delivered; afterwards the caller resumes
        // from its own revision.
        let delivered = Mutex(false)
        // A refused watch may only mean a stale token (etcd 3.4 says "permission denied" for
        // both): the first refusal refreshes the token, the second is believed.
        let refusals = Mutex(0)
        do {
            try await withFailover(key: prefix) { client, metadata in
                let token = metadata[stringValues: "token"].first(where: { _ in true })
                var metadata = metadata
                // Without a leader a member would deliver nothing, silently: make etcd say so.
                metadata.addString("true", forKey: "hasleader")
                do {
                    try await Etcdserverpb_Watch.Client(wrapping: client).watch(metadata: metadata, options: options) { writer in
                        try await writer.write(firstMessage)
                        // Keep our side open; this is cancelled when the response side ends.
                        while true { try await Task.sleep(for: .seconds(3600)) }
                    } onResponse: { response in
                        for try await message in response.messages {
                            if message.canceled {
                                if message.compactRevision > 0 {
                                    throw EtcdError.compacted(compactRevision: message.compactRevision)
                                }
                                let reason = message.cancelReason
                                if reason.contains("permission denied") || reason.contains("auth token") || reason.contains("auth store is old") {
                                    let attempt = refusals.withLock { count -> Int in
                                        count += 1
                                        return count
                                    }
                                    if attempt == 1 && username != nil {
                                        self.dropToken(token)
                                        throw RPCError(code: .unauthenticated, message: "watch refused (\(reason)); refreshing the auth token")
                                    }
                                    throw EtcdError.permissionDenied(key: prefix, user: username)
                                }
                                throw EtcdError.badResponse(endpoint: "etcd", reason: "watch cancelled: \(reason)")
                            }
                            for batch in Self.batches(message.events) {
                                delivered.withLock { $0 = true }
                                continuation.yield(batch)
                            }
                        }
                    }
                } catch let error as RPCError where delivered.withLock({ $0 }) {
                    // Mid-stream: not a reason to replay from the start elsewhere.
                    throw WatchInterrupted(error: error)
                }
            }
            continuation.finish(throwing: WatchInterrupted(error: RPCError(code: .unavailable, message: "etcd closed the watch stream")))
        } catch let interrupted as WatchInterrupted {
            continuation.finish(throwing: Task.isCancelled ? CancellationError() : interrupted)
        } catch {
            continuation.finish(throwing: Task.isCancelled ? CancellationError() : error)
        }
    }

    /// Events grouped by the revision that made them (a transaction's events share one).
    static func batches(_ events: [Mvccpb_Event]) -> [WatchBatch] {
        var result: [WatchBatch] = []
        for event in events {
            let kv = keyValue(event.kv)
            let converted = WatchEvent(kind: event.type == .delete ? .delete : .put, kv: kv)
            if let last = result.last, last.revision == kv.modRevision {
                result[result.count - 1].events.append(converted)
            } else {
                result.append(WatchBatch(events: [converted], revision: kv.modRevision))
            }
        }
        return result
    }
}

/// A watch stream that broke after delivering events; resume from the last revision seen.
public struct WatchInterrupted: Error, CustomStringConvertible {
    public var error: RPCError
    public var description: String { "the etcd watch stream broke: \(EtcdFailure.causeChain(error))" }
}
