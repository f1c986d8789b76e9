import Agent
@testable import NetnsLab
import Testing

/// The bench reads numbers from iperf3, ping and the kernel; a misread number would make every
/// ratio it prints wrong, so each parser is checked against output captured from those tools.
@Suite("Bench probes and report")
struct BenchProbesTests {
    @Test func iperfJSONGivesReceivedThroughputAndRetransmits() throws {
        let json = """
            {"start":{},"intervals":[],"end":{"sum_sent":{"bytes":593494016,"bits_per_second":949567812.5,"retransmits":1284},
            "sum_received":{"bytes":592093184,"bits_per_second":945900111.9}}}
            """
        let result = try BenchProbes.iperf(json: json)
        #expect(result == BenchProbes.IperfResult(bitsPerSecond: 945900111.9, retransmits: 1284))
    }

    @Test func iperfErrorsAndGarbageAreReportedNotZero() {
        #expect(throws: BenchProbes.ParseError.self) { try BenchProbes.iperf(json: #"{"start":{},"error":"unable to connect to server: Connection refused"}"#) }
        #expect(throws: BenchProbes.ParseError.self) { try BenchProbes.iperf(json: "iperf3: error - unable to connect") }
        #expect(throws: BenchProbes.ParseError.self) { try BenchProbes.iperf(json: #"{"end":{}}"#) }
    }

    @Test func pingOutputGivesEachReplysTime() {
        let output = """
            PING 10.1.52.2 (10.1.52.2) 56(84) bytes of data.
            64 bytes from 10.1.52.2: icmp_seq=1 ttl=62 time=0.231 ms
            64 bytes from 10.1.52.2: icmp_seq=2 ttl=62 time=1.05 ms
            64 bytes from 10.1.52.2: icmp_seq=4 ttl=62 time=0.160 ms
            64 bytes from 10.1.52.2: icmp_seq=4 ttl=62 time=0.170 ms (DUP!)

            --- 10.1.52.2 ping statistics ---
            4 packets transmitted, 3 received, 25% packet loss, time 151ms
            rtt min/avg/max/mdev = 0.160/0.480/1.050/0.400 ms
            """
        #expect(BenchProbes.pingTimes(output) == [0.231, 1.05, 0.160])
        #expect(BenchProbes.pingTimes("100% packet loss").isEmpty)
        #expect(BenchProbes.percentile([5, 1, 4, 2, 3, 6, 7, 8, 9, 10], 0.1) == 1)
        #expect(BenchProbes.percentile([5, 1, 4, 2, 3, 6, 7, 8, 9, 10, 11], 0.1) == 2)
        #expect(BenchProbes.percentile([3, 1, 2], 0.5) == 2)
        #expect(BenchProbes.percentile([], 0.1) == 0)
    }

    @Test func snmpCountersArePairedByName() {
        let text = """
            Ip: Forwarding DefaultTTL
            Ip: 1 64
            Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
            Udp: 6527 0 17 6529 15 2 0 0 0
            UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
            UdpLite: 0 0 0 0 0 0 0 0 0
            """
        let udp = BenchProbes.snmp(text, protocol: "Udp")
        #expect(udp["OutDatagrams"] == 6529)
        #expect(udp["RcvbufErrors"] == 15)
        #expect(udp["SndbufErrors"] == 2)
        #expect(BenchProbes.snmp(text, protocol: "Tcp").isEmpty)
    }

    @Test func linkDropsAddBothDirectionsAndTransmittedPacketsAreTheSentOnes() {
        let json = #"[{"ifindex":5,"ifname":"flannel0","mtu":1472,"stats64":{"rx":{"bytes":10,"packets":1,"errors":0,"dropped":3},"tx":{"bytes":20,"packets":2,"errors":0,"dropped":4096}}}]"#
        #expect(BenchProbes.linkDrops(json: json) == 4099)
        #expect(BenchProbes.linkTransmitted(json: json) == 2)
        #expect(BenchProbes.linkDrops(json: "Device \"flannel0\" does not exist.") == nil)
        #expect(BenchProbes.linkTransmitted(json: "Device \"flannel0\" does not exist.") == nil)
    }

    @Test func cpuTicksCountFromTheCommandNamesClosingParenthesis() {
        // comm may hold spaces and parentheses; utime=250, stime=31.
        let stat = "4242 (flannel (x) d) S 1 4242 4242 0 -1 4194560 1500 0 0 0 250 31 0 0 20 0 3 0 12345 100000 2500"
        #expect(BenchProbes.cpuTicks(stat: stat) == 281)
        #expect(BenchProbes.cpuTicks(stat: "garbage") == nil)
    }

    @Test func residentSizeComesFromVmRSS() {
        #expect(BenchProbes.residentKilobytes(status: "Name:\tflanneld\nVmPeak:\t  9000 kB\nVmRSS:\t   40144 kB\n") == 40144)
        #expect(BenchProbes.residentKilobytes(status: "Name:\tkthreadd\n") == nil)
    }

    /// The RTT line's interval: Student's t over the rounds' differences.
    @Test func meanIntervalUsesStudentsT() throws {
        let interval = try #require(BenchProbes.meanInterval([1, 2, 3, 4, 5]))
        #expect(interval.mean == 3)
        // sd √2.5, 5 values, t(4) = 2.776.
        #expect(abs(interval.halfWidth - 2.776 * (2.5 / 5).squareRoot()) < 1e-9)
        #expect(BenchProbes.meanInterval([4]) == nil)
        #expect(abs(BenchProbes.studentT975(degreesOfFreedom: 40) - 2.021) < 0.001)
        #expect(abs(BenchProbes.studentT975(degreesOfFreedom: 120) - 1.980) < 0.001)
    }

    @Test func medianOfOddAndEvenCounts() {
        #expect(BenchProbes.median([3, 1, 2]) == 2)
        #expect(BenchProbes.median([4, 1, 3, 2]) == 2.5)
        #expect(BenchProbes.median([]) == 0)
    }

    static func sample(_ gbit: Double, tunDrops: Int = 0, socketDrops: Int = 0, underlayDrops: Int = 0, datagrams: Int = 0, cpu: Double? = nil,
                       rtts: [Double] = [0.2]) -> UDPBenchReport.Sample {
        UDPBenchReport.Sample(single: .init(bitsPerSecond: gbit * 1e9, retransmits: 10), multi: .init(bitsPerSecond: gbit * 2e9, retransmits: 5),
                              pingTimes: rtts, tunDrops: tunDrops, socketDrops: socketDrops, underlayDrops: underlayDrops, datagrams: datagrams,
                              cpuSeconds: cpu, wallSeconds: 5, residentKilobytes: cpu == nil ? nil : 20480)
    }

    @Test func reportTakesMediansComputesRatiosAndSumsLoss() {
        let report = UDPBenchReport(samples: [
            .flanneld: [Self.sample(0.9, tunDrops: 1, datagrams: 999, cpu: 5), Self.sample(1.0, socketDrops: 2, datagrams: 1000, cpu: 5),
                        Self.sample(5.0, underlayDrops: 3, datagrams: 1000, cpu: 5)],
            .plainLoop: [Self.sample(0.8, tunDrops: 100, datagrams: 900, cpu: 4)],
            .underlay: [Self.sample(2.0)],
        ], seconds: 5, passes: 3)
        #expect(report.singleStream(.flanneld) == 1.0e9)
        #expect(report.flanneldOverPlainLoop == 1.25)
        let rows = report.markdown.split(separator: "\n")
        let ours = rows.first { $0.hasPrefix("| flanneld udp, offloads on |") } ?? ""
        #expect(ours.contains("| 1.00 Gbit/s | 1.25× | 0.50× | 2.00 Gbit/s | 1.25× |"), "\(ours)")
        // flannel0 drops never became datagrams: 6 lost of 2999 sent + 1 dropped at flannel0.
        #expect(ours.contains("| 1 | 2 | 3 | 0.200 % of 3000 |"), "\(ours)")
        #expect(ours.contains("| 100 % |"), "\(ours)")
        #expect(ours.contains("| 20.0 MB |"), "\(ours)")
        let underlay = rows.first { $0.hasPrefix("| underlay") } ?? ""
        #expect(underlay.contains("| - | - | 0 | - (kernel path) | 15 | kernel |"), "\(underlay)")
        #expect(!report.markdown.contains("host-gw"), "a path that was not measured gets no row")
        #expect(report.verdict.hasSuffix("1.25×, real loss 6 (target ≥ 4×, zero loss): NOT MET"), "\(report.verdict)")
        let fast = UDPBenchReport(samples: [.flanneld: [Self.sample(4.5)], .plainLoop: [Self.sample(1.0)]], seconds: 1, passes: 1)
        #expect(fast.verdict.hasSuffix("4.50×, real loss 0 (target ≥ 4×, zero loss): met"), "\(fast.verdict)")
        let lossy = UDPBenchReport(samples: [.flanneld: [Self.sample(4.5, tunDrops: 1)], .plainLoop: [Self.sample(1.0)]], seconds: 1, passes: 1)
        #expect(lossy.verdict.hasSuffix("NOT MET"))
        let ringLoss = UDPBenchReport(samples: [.flanneld: [Self.sample(4.5, underlayDrops: 1)], .plainLoop: [Self.sample(1.0)]], seconds: 1, passes: 1)
        #expect(ringLoss.verdict.hasSuffix("real loss 1 (target ≥ 4×, zero loss): NOT MET"), "\(ringLoss.verdict)")
    }

    /// RTT: every ping of every pass pooled, median and 10th percentile, compared on medians.
    @Test func reportPoolsPingTimesForTheRTTVerdict() {
        let slow = UDPBenchReport(samples: [
            .flanneld: [Self.sample(4, rtts: [0.30, 0.20, 0.25]), Self.sample(4, rtts: [0.22, 0.21])],
            .plainLoop: [Self.sample(1, rtts: [0.19, 0.21, 0.20])],
        ], seconds: 1, passes: 2)
        let ours = slow.markdown.split(separator: "\n").first { $0.hasPrefix("| flanneld udp, offloads on |") } ?? ""
        #expect(ours.contains("| 0.220 ms (p10 0.200) |"), "\(ours)")
        #expect(slow.rttVerdict == "RTT, median of 5 and 3 pings: flanneld udp (offloads on) 0.220 ms, plain loop 0.200 ms; p10 0.200 vs 0.190 ms (target: no worse than the plain loop): NOT MET")
        let even = UDPBenchReport(samples: [.flanneld: [Self.sample(4, rtts: [0.2])], .plainLoop: [Self.sample(1, rtts: [0.2])]], seconds: 1, passes: 1)
        #expect(even.rttVerdict.hasSuffix(": met"), "\(even.rttVerdict)")
        #expect(UDPBenchReport(samples: [:], seconds: 1, passes: 1).rttVerdict.hasSuffix("not measured"))
    }

    /// With rounds measured side by side, the verdict pools those (not the passes' pings) and
    /// shows each round's difference of medians.
    @Test func sideBySideRoundsDecideTheRTTVerdict() {
        let passesSayWorse = [
            UDPBenchReport.Path.flanneld: [Self.sample(4, rtts: [0.30, 0.31])],
            .plainLoop: [Self.sample(1, rtts: [0.20, 0.21])],
        ]
        let report = UDPBenchReport(samples: passesSayWorse, seconds: 1, passes: 1, rttRounds: [
            .flanneld: [[0.200, 0.210, 0.190], [0.240, 0.230, 0.250]],
            .plainLoop: [[0.205, 0.215, 0.195], [0.245, 0.235, 0.255]],
        ])
        #expect(report.rttVerdict == "RTT side by side (2 rounds, flanneld and a side plain loop on flannel1 forwarding at once, restarted each round; flanneld − loop per round: -5 -5 µs, mean -5.0 µs, 95 % interval -5.0 … -5.0 µs), median of 6 and 6 pings: "
            + "flanneld udp (offloads on) 0.220 ms, plain loop 0.225 ms; p10 0.190 vs 0.195 ms (target: no worse than the plain loop): met",
            "\(report.rttVerdict)")
        let ours = report.markdown.split(separator: "\n").first { $0.hasPrefix("| flanneld udp, offloads on |") } ?? ""
        #expect(ours.contains("| 0.305 ms (p10 0.300) |"), "the table keeps the passes' RTT: \(ours)")
        // Differences of −10 and 0 µs: mean −5, standard error 5, t(1) = 12.706.
        let spread = UDPBenchReport(samples: [:], seconds: 1, passes: 1, rttRounds: [
            .flanneld: [[0.190], [0.200]], .plainLoop: [[0.200], [0.200]],
        ])
        #expect(spread.rttVerdict.contains("per round: -10 +0 µs, mean -5.0 µs, 95 % interval -68.5 … +58.5 µs)"), "\(spread.rttVerdict)")
        let worse = UDPBenchReport(samples: [:], seconds: 1, passes: 1, rttRounds: [.flanneld: [[0.3]], .plainLoop: [[0.2]]])
        #expect(worse.rttVerdict.hasSuffix("NOT MET"), "\(worse.rttVerdict)")
        #expect(worse.rttVerdict.contains("per round: +100 µs, mean +100.0 µs)"), "\(worse.rttVerdict)")
    }

    @Test func runningLabsAreFoundFromNamespaceNames() throws {
        let labs = RunningLab.parse(namespaces: [
            "fl0a1b2c-sw", "fl0a1b2c-etcd", "fl0a1b2c-h2", "fl0a1b2c-h1", "fl0a1b2c-h1c10", "fl0a1b2c-h1c2", "fl0a1b2c-h1c1",
            "ffffffff-h1", "fl-etcd-1234", "other", "fl99aabb-h1", "fl99aabb-etcd3", "fl99aabb-etcd", "fl99aabb-etcd2",
        ])
        #expect(labs.map(\.run) == ["fl0a1b2c", "fl99aabb"])
        #expect(labs[0].hasEtcd && labs[0].etcdMembers == [1])
        #expect(labs[1].hasEtcd && labs[1].etcdMembers == [1, 2, 3], "an etcd cluster's members: \(labs[1].etcdMembers)")
        #expect(labs[1].hosts.map(\.name) == ["h1"])
        #expect(labs[0].hosts.map(\.name) == ["h1", "h2"])
        #expect(labs[0].hosts[0].containers.map(\.name) == ["fl0a1b2c-h1c1", "fl0a1b2c-h1c2", "fl0a1b2c-h1c10"])
        #expect(throws: RunningLab.SelectionError.self) { try labs[0].namespace(of: "h3") }
        #expect(try labs[0].namespace(of: "h1c2").name == "fl0a1b2c-h1c2")
        #expect(RunningLab.parseRole("h12c3")! == (12, 3))
        #expect(RunningLab.parseRole("sw") == nil)
        #expect(RunningLab.parseRole("hx") == nil)
    }

    @Test func addressesAndLinkStateFromIPOneLineOutput() {
        #expect(RunningLab.firstAddress(inIPOneLine: "2: eth0    inet 192.0.2.11/24 scope global eth0\\       valid_lft forever") == IPv4Address(192, 0, 2, 11))
        #expect(RunningLab.firstAddress(inIPOneLine: "") == nil)
        #expect(RunningLab.linkSummary("5: flannel0: <POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP> mtu 1472 qdisc fq_codel state UNKNOWN") == "up, mtu 1472")
        #expect(RunningLab.linkSummary("5: flannel0: <POINTOPOINT,MULTICAST,NOARP> mtu 1472 qdisc noop state DOWN") == "down, mtu 1472")
        #expect(LabNames.isRunTag("fl0a1b2c"))
        #expect(!LabNames.isRunTag("fl0a1b2c-h1"))
        #expect(!LabNames.isRunTag("fl-etcd-"))
    }
}
