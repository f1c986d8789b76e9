import Logging

/// A kernel backend's running data path: every peer change and every tick re-reads the
/// kernel and applies the diff, so a failure is retried at the next one.
final class KernelDataPath: RunningDataPath {
    let backend: KernelBackend
    private let logger: Logger
    /// The last resync's error, so that a lasting failure is logged once, not every 10 s.
    private var lastSyncProblem: String?

    init(backend: KernelBackend, logger: Logger) {
        self.backend = backend
        self.logger = logger
    }

    func setPeers(_ peers: [Peer]) {
        sync(peers)
    }

    func ignoreReason(_ peer: Peer) -> String? {
        backend.ignoreReason(peer)
    }

    func ipv6IgnoreReason(_ peer: Peer) -> String? {
        backend.ipv6IgnoreReason(peer)
    }

    func move(to subnets: OwnSubnets) throws {
        try backend.activate(subnets)
    }

    func tick(peers: () -> [Peer]) {
        sync(peers())
    }

    func stop() {
        // Left in place, as upstream does: traffic keeps flowing while the agent restarts,
        // and the next start reconciles them.
        logger.info("leaving \(backend.deviceNames.map { "\($0) and " }.joined())the peers' routes in place; the next start reconciles them")
    }

    private func sync(_ peers: [Peer]) {
        do {
            let failures = try backend.sync(peers: peers)
            if failures == 0 {
                if lastSyncProblem != nil { logger.notice("kernel state in sync again") }
                lastSyncProblem = nil
            } else {
                lastSyncProblem = "\(failures) step(s) failed"
            }
        } catch {
            let problem = "\(error)"
            if problem != lastSyncProblem { logger.error("resync failed: \(problem); retrying every 10 s") }
            lastSyncProblem = problem
        }
    }
}
