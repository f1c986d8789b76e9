import EtcdProto
import Foundation
import GRPCCore
import Synchronization

/// The watch of `EtcdKV`: one bidirectional stream per watch.
extension EtcdV3Client {
    /// Changes under `prefix` from `revision`, one batch per revision. The stream ends with
    /// `EtcdError.compacted` when that history is gone, with `EtcdError.permissionDenied`
    /// when the role may not read the prefix (etcd reports that as a cancelled watch, not an
    /// error), and with the transport's error when the connection drops: the caller resumes
    /// from the last revision it saw (`LeaseWatcher` does).
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
        // No deadline: a watch lives as long as its consumer.
        var options = CallOptions.defaults
        options.waitForReady = false

        let id = state.withLock { state in
            defer { state.nextWatch += 1 }
            return state.nextWatch
        }
        let task = Task {
            defer { _ = self.state.withLock { $0.watches.removeValue(forKey: id) } }
            // Failover is only safe before anything was delivered; afterwards the caller
            // resumes from its own revision.
            let delivered = Mutex(false)
            do {
                try await withFailover(key: prefix) { client, metadata in
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
                                    if message.cancelReason.contains("permission denied") {
                                        throw EtcdError.permissionDenied(key: prefix, user: username)
                                    }
                                    throw EtcdError.badResponse(endpoint: "etcd", reason: "watch cancelled: \(message.cancelReason)")
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
                continuation.finish(throwing: interrupted)
            } catch {
                continuation.finish(throwing: error)
            }
        }
        let closed = state.withLock { state in
            if !state.closed { state.watches[id] = task }
            return state.closed
        }
        if closed { task.cancel() }
        continuation.onTermination = { _ in task.cancel() }
        return stream
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
