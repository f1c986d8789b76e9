import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The running data path, whichever backend: told the peers, moved to a new subnet after a
/// drift, ticked every 10 s (udp: drop summary; kernel backends: resync), stopped.
final class DataPath {
    enum Kind {
        case udp(tun: TUNDevice, proxy: UDPProxy, mtu: Int)
        case kernel(KernelBackend)
    }

    let kind: Kind
    private let logger: Logger
    private var reportedDrops: [UDPEncapsulation.DropReason: Int] = [:]
    private var reportedSegmentationRefusal = false
    /// The last resync's error, so that a lasting failure is logged once, not every 10 s.
    private var lastSyncProblem: String?

    init(kind: Kind, logger: Logger) {
        self.kind = kind
        self.logger = logger
    }

    func setPeers(_ peers: [Peer]) {
        switch kind {
        case let .udp(_, proxy, _): proxy.setPeers(peers)
        case let .kernel(backend): sync(backend, peers)
        }
    }

    /// Why a peer gets no data path entries (kernel backends: another backend's lease, no VtepMAC).
    func ignoreReason(_ peer: Peer) -> String? {
        guard case let .kernel(backend) = kind else { return nil }
        return backend.planner.ignoreReason(peer)
    }

    func move(to subnet: IPv4Network, network: IPv4Network) throws {
        switch kind {
        case let .udp(tun, proxy, mtu):
            try tun.configure(address: subnet.address, mtu: mtu, network: network)
            proxy.setTunAddress(subnet.address)
        case let .kernel(backend):
            try backend.activate(subnet: subnet)
        }
    }

    func tick(peers: @autoclosure () -> [Peer]) {
        switch kind {
        case let .udp(_, proxy, _):
            let refusal = proxy.segmentationRefusal.load(ordering: .relaxed)
            if refusal != 0 && !reportedSegmentationRefusal {
                logger.notice("udp fast path: the kernel refused a UDP_SEGMENT send (\(String(cString: strerror(refusal)))); sending one datagram per segment from now on")
                reportedSegmentationRefusal = true
            }
            // Drops are counted per packet and summarised here, so bad traffic never floods the log.
            let drops = proxy.snapshot.drops
            if drops != reportedDrops {
                let summary = UDPEncapsulation.DropReason.allCases.compactMap { reason -> String? in
                    let new = drops[reason, default: 0] - reportedDrops[reason, default: 0]
                    return new > 0 ? "\(reason.rawValue)=\(new)" : nil
                }.joined(separator: " ")
                logger.notice("udp backend dropped packets in the last 10 s: \(summary)")
                reportedDrops = drops
            }
        case let .kernel(backend):
            sync(backend, peers())
        }
    }

    func stop() {
        switch kind {
        case let .udp(_, proxy, _):
            proxy.stop()
        case let .kernel(backend):
            // Left in place, as upstream does: traffic keeps flowing while the agent restarts,
            // and the next start reconciles them.
            logger.info("leaving \(backend.vxlanSpec.map { "\($0.name) and " } ?? "")the peers' routes in place; the next start reconciles them")
        }
    }

    private func sync(_ backend: KernelBackend, _ peers: [Peer]) {
        do {
            let outcome = try backend.sync(peers: peers)
            if outcome.failures.isEmpty {
                if lastSyncProblem != nil { logger.notice("kernel state in sync again") }
                lastSyncProblem = nil
            } else {
                lastSyncProblem = "\(outcome.failures.count) step(s) failed"
            }
        } catch {
            let problem = "\(error)"
            if problem != lastSyncProblem { logger.error("resync failed: \(problem); retrying every 10 s") }
            lastSyncProblem = problem
        }
    }
}
