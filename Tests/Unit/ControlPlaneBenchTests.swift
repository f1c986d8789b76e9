import Agent
import ClusterScenarios
@testable import NetnsLab
@testable import Sim
import Testing

/// The control-plane bench's readings: the agents' log timestamps, etcd's request counter,
/// the quantiles and the verdict, and the simulator's half on a small cluster.
@Suite("Control-plane bench")
struct ControlPlaneBenchTests {
    static let log = """
        I1207 23:00:01.080861   28904 FlanneldDaemon.swift:47] using interface eth0 with address 192.0.2.11; public IP 192.0.2.11
        I1207 23:00:01.137338   28904 AgentRunner.swift:107] acquired lease 10.1.21.0/24 (TTL 20s) at /coreos.com/network/subnets/10.1.21.0-24
        I1207 23:00:01.158113   28904 AgentRunner.swift:190] peer added: 10.1.48.0/24 via 192.0.2.13 (vxlan)
        I1207 23:00:01.158200   28904 KernelFamilyBackend.swift:72] add neighbour 10.1.48.0 lladdr 2e:6c:d2:33:b0:10 dev flannel.1
        I1207 23:00:01.158350   28904 KernelFamilyBackend.swift:72] add route 10.1.48.0/24 via 10.1.48.0 dev flannel.1 onlink
        W1207 23:00:02.000000   28904 AgentRunner.swift:107] lease watch interrupted: etcd is unavailable
        W1207 23:00:03.000000   28904 AgentRunner.swift:107] renewing the lease for 10.1.21.0/24 failed: etcd is unavailable: tried …; retrying
        I1208 00:00:00.500000   28904 AgentRunner.swift:190] peer added: 10.1.83.0/24 via 192.0.2.12 (udp)
        """

    @Test func anAgentsLogGivesItsLeaseAndWhenEachPeerWasProgrammed() throws {
        let times = AgentLogTimes(log: Self.log, routes: true)
        #expect(times.subnet == IPv4Network("10.1.21.0/24"))
        let first = try #require(times.firstLine), leased = try #require(times.leasedAt)
        #expect(abs((leased - first) - 0.056477) < 1e-6)
        // A kernel backend's peer is programmed once its route is in, not at "peer added".
        let route = try #require(times.reached[IPv4Network("10.1.48.0/24")!])
        #expect(abs((route - first) - 0.077489) < 1e-6)
        #expect(times.reached[IPv4Network("10.1.83.0/24")!] == nil, "no route for it yet")
        #expect(times.failedRenewals == 1)
        // udp forwards in the agent: "peer added" is the moment; across midnight the scale keeps counting.
        let udp = AgentLogTimes(log: Self.log, routes: false)
        let late = try #require(udp.reached[IPv4Network("10.1.83.0/24")!])
        #expect(abs((late - first) - (3600 - 1.080861 + 0.5)) < 1e-6)
        #expect(abs((try #require(udp.reached[IPv4Network("10.1.48.0/24")!]) - first) - 0.077252) < 1e-6)
        #expect(AgentLogTimes.time(of: "not a log line at all, but long enough") == nil)
    }

    @Test func etcdsUnaryCallsAreSummedFromItsMetrics() {
        let metrics = """
            # TYPE grpc_server_started_total counter
            grpc_server_started_total{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 120
            grpc_server_started_total{grpc_method="Txn",grpc_service="etcdserverpb.KV",grpc_type="unary"} 55
            grpc_server_started_total{grpc_method="Watch",grpc_service="etcdserverpb.Watch",grpc_type="bidi_stream"} 50
            grpc_server_handled_total{grpc_code="OK",grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 120
            """
        #expect(ControlPlaneBench.unaryCalls(inMetrics: metrics) == 175)
    }

    @Test func quantilesAndTheJoinVerdict() {
        let joins = (1...20).map { Duration.milliseconds($0 * 10) }
        #expect(ControlPlaneFigures.quantile(joins, 0.5) == .milliseconds(100))
        #expect(ControlPlaneFigures.quantile(joins, 0.99) == .milliseconds(200))
        var fast = ControlPlaneFigures(hosts: 50, coldStartConvergence: .seconds(2), coldStartRequests: 300, restRequests: 50, rest: .seconds(60))
        fast.joinsFromStart = joins
        var slow = fast
        slow.joinsFromStart = joins.map { $0 * 2 }
        let report = ControlPlaneReport(runs: [.init(backend: "vxlan", lab: fast, simulator: fast), .init(backend: "host-gw", lab: slow, simulator: fast),
                                               .init(backend: "udp", lab: slow, simulator: fast)])
        #expect(report.verdict.hasSuffix("vxlan met (200 ms), host-gw NOT MET (400 ms)"), "\(report.verdict)")
        #expect(fast.coldStartRequestsPerSecond == 150 && fast.restRequestsPerHostHour == 60)
        #expect(report.markdown.contains("| join: agent start → reachable from every host, p50 / p99 / max | 100 ms / 200 ms / 200 ms |"))
    }

    @Test func theSimulatorsHalfMeasuresTheSameSetup() throws {
        var setup = ControlPlaneSetup()
        setup.hosts = 12
        setup.joins = 4
        setup.leaseTTL = .seconds(20)
        setup.rest = .seconds(30)
        let bench = SimControlPlaneBench(setup: setup)
        let figures = try bench.run()
        #expect(figures.joinsFromLease.count == 4 && figures.joinsFromStart.count == 4)
        #expect(zip(figures.joinsFromLease, figures.joinsFromStart).allSatisfy { $0 >= .zero && $0 <= $1 && $1 > .zero },
                "\(figures.joinsFromLease) \(figures.joinsFromStart)")
        #expect(figures.coldStartConvergence > .zero && figures.coldStartConvergence < .seconds(5))
        #expect(figures.coldStartRequests >= 12 * 3, "each agent reads the config, lists and creates at least: \(figures.coldStartRequests)")
        // At rest with 20 s leases each agent renews every 8–10 s, 3 or 4 times in 30 s; a
        // renewal is two requests (a new etcd lease, then the write on it).
        #expect((12 * 3 * 2...12 * 4 * 2).contains(figures.restRequests), "\(figures.restRequests)")
        let renewed = try #require(figures.renewedAfterLeaderKill)
        #expect(renewed <= .seconds(12), "every agent renewed within a renew interval and an election: \(renewed)")
        let again = try bench.run()
        #expect(again.joinsFromLease == figures.joinsFromLease && again.joinsFromStart == figures.joinsFromStart
                    && again.coldStartConvergence == figures.coldStartConvergence && again.coldStartRequests == figures.coldStartRequests
                    && again.restRequests == figures.restRequests && again.renewedAfterLeaderKill == figures.renewedAfterLeaderKill,
                "same seed, same figures")
    }
}
