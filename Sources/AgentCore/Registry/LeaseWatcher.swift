/// Follows lease changes through any interruption: a dropped watch resumes after the last
/// revision it delivered (no event lost, none repeated); a compacted history is re-listed and
/// handed over whole, for the peer table to diff; other errors back off (`Backoff.leaseWatch`:
/// 100 ms doubling to 5 s), so an etcd outage never becomes a hot loop or a log flood.
public struct LeaseWatcher: Sendable {
    public enum Update: Equatable, Sendable {
        case events(LeaseEventBatch)
        /// The history since our revision was compacted away: here is the whole current state.
        case resynced(LeaseListing)
        /// The watch broke; it is retried after `retryIn`. Consecutive interruptions of the
        /// same cause are reported once, so an outage logs one line, not one per retry.
        case interrupted(reason: String, retryIn: Duration)
        /// Events flow again after an interruption.
        case resumed(afterRevision: Int64)
    }

    private let registry: any Registry
    private let sleep: @Sendable (Duration) async throws -> Void

    /// `sleep` is injected so tests need not wait for real backoff.
    public init(registry: any Registry, sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.registry = registry
        self.sleep = sleep
    }

    /// Updates after `revision` (the listing's revision) until the consuming task is cancelled.
    public func updates(after revision: Int64) -> AsyncStream<Update> {
        let registry = self.registry
        let sleep = self.sleep
        return AsyncStream { continuation in
            let task = Task {
                var current = revision
                var backoff = Backoff.leaseWatch
                var lastReason: String?
                func backOff(_ reason: String) async -> Bool {
                    let delay = backoff.failed()
                    if reason != lastReason {
                        continuation.yield(.interrupted(reason: reason, retryIn: delay))
                        lastReason = reason
                    }
                    do { try await sleep(delay) } catch { return false }
                    return true
                }
                while !Task.isCancelled {
                    do {
                        for try await batch in registry.watchLeases(after: current) {
                            if lastReason != nil {
                                continuation.yield(.resumed(afterRevision: current))
                                lastReason = nil
                            }
                            current = max(current, batch.revision)
                            backoff.succeeded()
                            continuation.yield(.events(batch))
                        }
                        if Task.isCancelled { break }
                        guard await backOff("the watch stream ended") else { break }
                    } catch let EtcdError.compacted(compactRevision) {
                        do {
                            let listing = try await registry.listLeases()
                            current = listing.revision
                            backoff.succeeded()
                            lastReason = nil
                            continuation.yield(.resynced(listing))
                        } catch {
                            if Task.isCancelled { break }
                            guard await backOff("re-listing after compaction at revision \(compactRevision) failed: \(error)") else { break }
                        }
                    } catch {
                        if Task.isCancelled || error is CancellationError { break }
                        guard await backOff("\(error)") else { break }
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
