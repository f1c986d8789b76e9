import Logging
#if canImport(Glibc)
import Glibc
#endif

/// udp's running data path: peers swapped into the proxy, flannel0 moved on a drift, drops
/// summarised every tick (counted per packet, so bad traffic never floods the log).
final class UDPDataPath: RunningDataPath {
    let tun: TUNDevice
    let proxy: UDPProxy
    let mtu: Int
    private let logger: Logger
    private var reportedDrops: [UDPEncapsulation.DropReason: Int] = [:]
    private var reportedSegmentationRefusal = false

    init(tun: TUNDevice, proxy: UDPProxy, mtu: Int, logger: Logger) {
        self.tun = tun
        self.proxy = proxy
        self.mtu = mtu
        self.logger = logger
    }

    func setPeers(_ peers: [Peer]) {
        proxy.setPeers(peers)
    }

    func move(to subnets: OwnSubnets) throws {
        guard let subnet = subnets.subnet, let network = subnets.network else { throw UDPBackend.IPv4Only() }
        try tun.configure(address: subnet.address, mtu: mtu, network: network)
        proxy.setSubnet(subnet)
    }

    func tick(peers: () -> [Peer]) {
        let refusal = proxy.segmentationRefusal.load(ordering: .relaxed)
        if refusal != 0 && !reportedSegmentationRefusal {
            logger.notice("udp fast path: the kernel refused a UDP_SEGMENT send (\(String(cString: strerror(refusal)))); sending one datagram per segment from now on")
            reportedSegmentationRefusal = true
        }
        let drops = proxy.snapshot.drops
        if drops != reportedDrops {
            let summary = UDPEncapsulation.DropReason.allCases.compactMap { reason -> String? in
                let new = drops[reason, default: 0] - reportedDrops[reason, default: 0]
                return new > 0 ? "\(reason.rawValue)=\(new)" : nil
            }.joined(separator: " ")
            logger.notice("udp backend dropped packets in the last 10 s: \(summary)")
            reportedDrops = drops
        }
    }

    func stop() {
        proxy.stop()
    }

    var metricsSource: (@Sendable (AgentMetrics) -> String)? {
        let proxy = self.proxy
        return { metrics in metrics.render(udp: proxy.snapshot) }
    }
}
