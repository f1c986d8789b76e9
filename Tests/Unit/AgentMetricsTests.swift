@testable import AgentCore
@testable import Agent
import Testing

/// What an operator scraping `/metrics` sees.
@Suite struct AgentMetricsTests {
    static func lease(_ subnet: String, reservation: Bool = false) -> HeldLease {
        HeldLease(key: SubnetKey(IPv4Network(subnet)!), attributes: LeaseAttributes(publicIP: IPv4Address(192, 0, 2, 11)),
                  expiry: reservation ? .reservation : .at(Timestamp(nanoseconds: 0)), modRevision: 1)
    }

    /// The samples (gauges print as doubles: `1.0`).
    static func lines(_ text: String) -> Set<String> {
        Set(text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") })
    }

    @Test func aFreshAgentShowsNoLeaseAndZeroCounts() {
        let lines = Self.lines(AgentMetrics().render())
        #expect(lines.contains("flannel_lease_held 0.0"))
        #expect(lines.contains("flannel_peers 0.0"))
        #expect(lines.contains("flannel_lease_renewals_total 0"))
        #expect(lines.contains(#"flannel_udp_drops_total{reason="not_from_peer"} 0"#))
        #expect(!lines.contains { $0.hasPrefix("flannel_lease_subnet_info") })
    }

    @Test func theLeaseItsRenewalsAndADriftAreShown() {
        let metrics = AgentMetrics()
        metrics.leaseAcquired(Self.lease("10.1.2.0/24"))
        metrics.leaseRenewed()
        metrics.leaseRenewed()
        metrics.setPeers(3)
        var lines = Self.lines(metrics.render())
        #expect(lines.contains("flannel_lease_held 1.0"))
        #expect(lines.contains(#"flannel_lease_subnet_info{subnet="10.1.2.0/24",kind="ttl"} 1.0"#), "\(lines.sorted())")
        #expect(lines.contains("flannel_lease_renewals_total 2"))
        #expect(lines.contains("flannel_peers 3.0"))

        metrics.leaseLost()
        metrics.drifted(from: "10.1.2.0/24", to: "10.1.3.0/24")
        metrics.leaseAcquired(Self.lease("10.1.3.0/24"))
        lines = Self.lines(metrics.render())
        #expect(lines.contains("flannel_lease_held 1.0"))
        #expect(lines.contains("flannel_lease_losses_total 1"))
        #expect(lines.contains("flannel_lease_acquisitions_total 2"))
        #expect(lines.contains("flannel_subnet_drifts_total 1"))
        #expect(lines.contains(#"flannel_subnet_last_drift_info{from="10.1.2.0/24",to="10.1.3.0/24"} 1.0"#), "\(lines.sorted())")
        // Only the subnet held now.
        #expect(lines.filter { $0.hasPrefix("flannel_lease_subnet_info") } == [#"flannel_lease_subnet_info{subnet="10.1.3.0/24",kind="ttl"} 1.0"#])
    }

    @Test func aLostLeaseLeavesNoSubnetHeld() {
        let metrics = AgentMetrics()
        metrics.leaseAcquired(Self.lease("10.1.2.0/24"))
        metrics.leaseLost()
        let lines = Self.lines(metrics.render())
        #expect(lines.contains("flannel_lease_held 0.0"))
        #expect(!lines.contains { $0.hasPrefix("flannel_lease_subnet_info") }, "\(lines.sorted())")
        metrics.leaseAcquired(Self.lease("10.1.2.0/24"))
        #expect(Self.lines(metrics.render()).contains(#"flannel_lease_subnet_info{subnet="10.1.2.0/24",kind="ttl"} 1.0"#))
    }

    @Test func aReservationIsShownAsOneAndTheSameLabelsStayOneSeries() {
        let metrics = AgentMetrics()
        metrics.leaseAcquired(Self.lease("10.1.77.0/24", reservation: true))
        metrics.leaseAcquired(Self.lease("10.1.77.0/24", reservation: true))
        let lines = Self.lines(metrics.render())
        #expect(lines.filter { $0.hasPrefix("flannel_lease_subnet_info") } == [#"flannel_lease_subnet_info{subnet="10.1.77.0/24",kind="reservation"} 1.0"#])
    }

    @Test func watchRestartsAreCountedByReason() {
        let metrics = AgentMetrics()
        metrics.watchInterrupted()
        metrics.watchInterrupted()
        metrics.watchRelisted()
        let lines = Self.lines(metrics.render())
        #expect(lines.contains(#"flannel_watch_restarts_total{reason="interrupted"} 2"#))
        #expect(lines.contains(#"flannel_watch_restarts_total{reason="compacted"} 1"#))
    }

    /// The proxy's own totals are carried over at each scrape, never counted twice.
    @Test func udpTotalsAreCarriedOverOnce() {
        let metrics = AgentMetrics()
        var totals = UDPProxy.Counters()
        totals.packetsOut = 10
        totals.bytesOut = 840
        totals.drops[.notFromPeer] = 2
        _ = metrics.render(udp: totals)
        totals.packetsOut = 15
        totals.packetsIn = 4
        totals.bytesIn = 336
        let lines = Self.lines(metrics.render(udp: totals))
        #expect(lines.contains(#"flannel_udp_packets_total{direction="out"} 15"#))
        #expect(lines.contains(#"flannel_udp_packets_total{direction="in"} 4"#))
        #expect(lines.contains(#"flannel_udp_bytes_total{direction="out"} 840"#))
        #expect(lines.contains(#"flannel_udp_bytes_total{direction="in"} 336"#))
        #expect(lines.contains(#"flannel_udp_drops_total{reason="not_from_peer"} 2"#))
        #expect(lines.contains(#"flannel_udp_drops_total{reason="malformed"} 0"#))
    }

    @Test func healthServerServesTheMetricsText() {
        let server = HealthServer()
        #expect(server.answer("/metrics").0 == .serviceUnavailable)
        let metrics = AgentMetrics()
        server.setMetrics { metrics.render() }
        let (status, body) = server.answer("/metrics")
        #expect(status == .ok)
        #expect(body.contains("flannel_lease_held 0.0"))
    }
}

extension AgentMetricsTests {
    @Test func theIPv6HalfHasItsOwnLabelsAndDriftSeries() {
        let metrics = AgentMetrics()
        metrics.leaseAcquired(HeldLease(key: SubnetKey(IPv4Network("10.1.2.0/24")!, ipv6: IPv6Network("fd00:10:1:2::/64")),
                                        attributes: LeaseAttributes(publicIP: IPv4Address(192, 0, 2, 1)), expiry: .reservation, modRevision: 1))
        metrics.drifted(from: "10.1.2.0/24", to: "10.1.3.0/24")
        metrics.ipv6Drifted(from: "fd00:10:1:2::/64", to: "fd00:10:1:3::/64")
        let lines = metrics.render().split(separator: "\n").map(String.init)
        #expect(lines.contains(#"flannel_lease_subnet_info{subnet="10.1.2.0/24",kind="reservation",ipv6_subnet="fd00:10:1:2::/64"} 1.0"#), "\(lines.sorted())")
        #expect(lines.contains("flannel_subnet_drifts_total 2"))
        #expect(lines.contains(#"flannel_subnet_last_drift_info{from="10.1.2.0/24",to="10.1.3.0/24"} 1.0"#))
        #expect(lines.contains(#"flannel_ipv6_subnet_last_drift_info{from="fd00:10:1:2::/64",to="fd00:10:1:3::/64"} 1.0"#))
    }
}
