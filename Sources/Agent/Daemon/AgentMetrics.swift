import CoreMetrics
import Prometheus
import Synchronization

/// The agent's numbers for `/metrics` (Prometheus text): the lease, the peers, renewals,
/// drifts, watch restarts and the udp data path's packets, bytes and drops. Recorded through
/// swift-metrics into a registry of our own (no global bootstrap: tests make as many as they
/// like). The udp counters are not touched per packet: the proxy keeps its own and they are
/// carried over at each scrape.
public final class AgentMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let leaseHeld: Meter
    private let peers: Meter
    private let acquisitions: CoreMetrics.Counter
    private let renewals: CoreMetrics.Counter
    private let losses: CoreMetrics.Counter
    private let drifts: CoreMetrics.Counter
    private let watchInterruptions: CoreMetrics.Counter
    private let watchRelists: CoreMetrics.Counter
    private let udp: UDPCounters
    private let ignoredLeases: [MalformedLease.Kind: CoreMetrics.Counter]
    /// The series whose labels change with the lease: the subnet held, the last drift.
    private let labelled = Mutex<Labelled>(Labelled())

    private struct Labelled {
        var subnet: Meter?
        var drift: Meter?
        var ipv6Drift: Meter?
    }
    /// The proxy's totals already carried over.
    private let carried = Mutex(UDPProxy.Counters())

    private struct UDPCounters: Sendable {
        let packetsOut, packetsIn, bytesOut, bytesIn, icmpReplies: CoreMetrics.Counter
        let drops: [UDPEncapsulation.DropReason: CoreMetrics.Counter]
    }

    public init() {
        factory = PrometheusMetricsFactory(registry: registry)
        let factory = self.factory
        func counter(_ name: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Counter {
            CoreMetrics.Counter(label: name, dimensions: dimensions, factory: factory)
        }
        leaseHeld = Meter(label: "flannel_lease_held", factory: factory)
        peers = Meter(label: "flannel_peers", factory: factory)
        acquisitions = counter("flannel_lease_acquisitions_total")
        renewals = counter("flannel_lease_renewals_total")
        losses = counter("flannel_lease_losses_total")
        drifts = counter("flannel_subnet_drifts_total")
        watchInterruptions = counter("flannel_watch_restarts_total", [("reason", "interrupted")])
        watchRelists = counter("flannel_watch_restarts_total", [("reason", "compacted")])
        ignoredLeases = Dictionary(uniqueKeysWithValues: MalformedLease.Kind.allCases.map {
            ($0, counter("flannel_lease_entries_ignored_total", [("reason", $0.rawValue)]))
        })
        udp = UDPCounters(
            packetsOut: counter("flannel_udp_packets_total", [("direction", "out")]),
            packetsIn: counter("flannel_udp_packets_total", [("direction", "in")]),
            bytesOut: counter("flannel_udp_bytes_total", [("direction", "out")]),
            bytesIn: counter("flannel_udp_bytes_total", [("direction", "in")]),
            icmpReplies: counter("flannel_udp_icmp_replies_total"),
            drops: Dictionary(uniqueKeysWithValues: UDPEncapsulation.DropReason.allCases.map {
                ($0, counter("flannel_udp_drops_total", [("reason", $0.rawValue)]))
            }))
        leaseHeld.set(0)
        peers.set(0)
    }

    /// A lease is held (the first, a re-acquisition or a drift's new one).
    public func leaseAcquired(_ lease: HeldLease) {
        acquisitions.increment()
        leaseHeld.set(1)
        let kind = lease.isReservation ? "reservation" : "ttl"
        var dimensions = [("subnet", lease.subnet.map { "\($0)" } ?? ""), ("kind", kind)]
        if let ipv6 = lease.key.ipv6 { dimensions.append(("ipv6_subnet", ipv6.description)) }
        replace(\.subnet, with: Meter(label: "flannel_lease_subnet_info", dimensions: dimensions, factory: factory))
    }

    public func leaseRenewed() { renewals.increment() }

    /// No lease held any more: the subnet series goes until one is acquired again.
    public func leaseLost() {
        losses.increment()
        leaseHeld.set(0)
        labelled.withLock { state -> Meter? in
            defer { state.subnet = nil }
            return state.subnet
        }?.destroy()
    }

    /// The subnet changed from what subnet.env named: counted, and the last one kept as labels.
    public func drifted(from old: String, to new: String) {
        drifts.increment()
        replace(\.drift, with: Meter(label: "flannel_subnet_last_drift_info",
                                     dimensions: [("from", old), ("to", new)], factory: factory))
    }

    /// The same for the IPv6 half of a dual-stack lease (counted with the IPv4 drifts, its
    /// last one kept apart so that neither hides the other).
    public func ipv6Drifted(from old: String, to new: String) {
        drifts.increment()
        replace(\.ipv6Drift, with: Meter(label: "flannel_ipv6_subnet_last_drift_info",
                                         dimensions: [("from", old), ("to", new)], factory: factory))
    }

    public func setPeers(_ count: Int) { peers.set(count) }
    /// Lease entries skipped, each time a listing or the watch carried one.
    public func leasesIgnored(_ kind: MalformedLease.Kind, count: Int) { ignoredLeases[kind]?.increment(by: count) }
    public func watchInterrupted() { watchInterruptions.increment() }
    public func watchRelisted() { watchRelists.increment() }

    /// The text for `/metrics`, the udp proxy's totals (when it runs) carried over first.
    public func render(udp totals: UDPProxy.Counters? = nil) -> String {
        if let totals { carryOver(totals) }
        return registry.emitToString()
    }

    private func carryOver(_ totals: UDPProxy.Counters) {
        let udp = self.udp
        carried.withLock { carried in
            func add(_ counter: CoreMetrics.Counter, _ now: Int, _ before: Int) {
                if now > before { counter.increment(by: now - before) }
            }
            add(udp.packetsOut, totals.packetsOut, carried.packetsOut)
            add(udp.packetsIn, totals.packetsIn, carried.packetsIn)
            add(udp.bytesOut, totals.bytesOut, carried.bytesOut)
            add(udp.bytesIn, totals.bytesIn, carried.bytesIn)
            add(udp.icmpReplies, totals.icmpReplies, carried.icmpReplies)
            for (reason, counter) in udp.drops {
                add(counter, totals.drops[reason, default: 0], carried.drops[reason, default: 0])
            }
            carried = totals
        }
    }

    private func replace(_ slot: WritableKeyPath<Labelled, Meter?>, with meter: Meter) {
        meter.set(1)
        let old = labelled.withLock { state -> Meter? in
            let old = state[keyPath: slot]
            state[keyPath: slot] = meter
            return old
        }
        // The same labels again (a renewal of a re-acquired lease) are the same series.
        if let old, old.label != meter.label || !old.dimensions.elementsEqual(meter.dimensions, by: { $0 == $1 }) { old.destroy() }
    }
}
