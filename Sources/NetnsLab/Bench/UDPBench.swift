import Agent
import Foundation

/// `netns-lab bench --backend udp`: one lab, six data paths between a container on h1 and
/// one on h2, measured in the same run, pass after pass: flanneld's udp backend with its fast
/// path and with `--udp-offload=off`, the plain read/sendto loop (`PlainUDPLoop`, upstream's
/// design), vxlan and host-gw typed by hand, and the underlay itself (eth0 to eth0). The
/// underlay veths act as NICs (`Lab.emulateNICs`): frames leave wire-sized, the receiving eth0
/// does GRO. Per path: iperf3 with one and four streams, ping RTT, real loss from the kernel's
/// drop counters, and the forwarding process's CPU and RSS. Then the RTT target's rounds:
/// flanneld and a second plain loop forwarding at once (`rttOnly`: those rounds alone).
public struct UDPBench {
    public var flanneld: String
    /// The netns-lab binary, which runs the baseline (`netns-lab plain-loop`).
    public var netnsLab: String
    public var seconds = 5
    public var passes = 3
    /// GRO at the hosts' eth0, as a NIC driver does (`Lab.emulateNICs`); off: a veth's default.
    public var underlayGRO = true
    /// Only the side-by-side RTT rounds: no throughput passes (`--rtt-only`).
    public var rttOnly = false
    /// How many side-by-side RTT rounds (`--rtt-rounds`); nil: four per pass, or
    /// `rttOnlyRoundCount` with `rttOnly`.
    public var rttRounds: Int?
    /// With `rttOnly`, unless told: a round moves by several µs, the mean of 16 by ~2.
    public static let rttOnlyRoundCount = 16
    /// The side-by-side RTT rounds (after the passes, if any), both paths in each.
    public var rttRoundCount: Int { Self.rttRoundCount(requested: rttRounds, rttOnly: rttOnly, passes: passes) }

    /// `requested` when given, else 4 per pass, or `rttOnlyRoundCount` with `rttOnly`.
    public static func rttRoundCount(requested: Int?, rttOnly: Bool, passes: Int) -> Int {
        requested ?? (rttOnly ? rttOnlyRoundCount : 4 * max(1, passes))
    }

    /// How the side-by-side rounds are run, for the recorded section.
    public static let sideBySideMethod = """
        flanneld and a second plain loop (flannel1, UDP 8286, an overlay of its own)
        forward at the same time, both restarted before each round, and get 100 pings 50 ms apart each,
        in turn 25 ms apart, so drift in the VM's wake-up latency falls on both alike.
        """
    public var output: (String) -> Void

    public init(flanneld: String, netnsLab: String, output: @escaping (String) -> Void) {
        self.flanneld = flanneld
        self.netnsLab = netnsLab
        self.output = output
    }

    public func run(names: LabNames = LabNames()) throws -> UDPBenchReport {
        let bringUp = try LabBringUp(flanneld: flanneld).run(names: names) { output("  \($0)") }
        let lab = bringUp.lab
        defer { lab.destroy() }
        try lab.emulateNICs(receiveOffload: underlayGRO)
        let paths = try BenchPaths(lab: lab, hosts: bringUp.hosts, files: bringUp.subnetFiles,
                          containers: bringUp.containers.map { $0[0] }, flanneld: flanneld, netnsLab: netnsLab)
        try paths.checkSideOverlay()
        if !rttOnly { try paths.startIperfServers() }
        var samples: [UDPBenchReport.Path: [UDPBenchReport.Sample]] = [:]
        // flanneld already runs (it made the leases); wait until it carries traffic, like every other path.
        var active: UDPBenchReport.Path = .flanneld
        try paths.waitUntilCarrying(.flanneld)
        func switchTo(_ path: UDPBenchReport.Path) throws {
            guard path != active else { return }
            try paths.deactivate(active)
            try paths.activate(path)
            active = path
        }
        for pass in 1...max(1, passes) where !rttOnly {
            for path in UDPBenchReport.Path.allCases {
                try switchTo(path)
                let sample = try paths.measure(path, seconds: seconds)
                samples[path, default: []].append(sample)
                output(String(format: "  pass %d/%d  %@: 1 stream %.2f Gbit/s, 4 streams %.2f Gbit/s, rtt median %.3f ms, "
                              + "drops: flannel0 %d, udp buffers %d, underlay %d, of %d frames",
                              pass, passes, path.title, sample.single.bitsPerSecond / 1e9, sample.multi.bitsPerSecond / 1e9,
                              BenchProbes.median(sample.pingTimes), sample.tunDrops, sample.socketDrops, sample.underlayDrops, sample.datagrams))
            }
        }
        // RTT side by side: flanneld (flannel0) and a second plain loop on an overlay of its
        // own (flannel1) forward at the same time, pinged in turn nominally 25 ms apart, so the VM's drift
        // in wake-up latency (tens of µs over minutes) falls on both alike. Both restart before
        // each round: where a process's buffers and code land moves its cost by ~10 µs from one
        // start to the next, and a user gets whichever start.
        var rttRounds: [UDPBenchReport.Path: [[Double]]] = [:]
        let rounds = rttRoundCount
        // Each round starts flanneld afresh: whatever path is active now only has to stop.
        if active != .flanneld { try paths.deactivate(active) }
        active = .flanneld
        try paths.addSideOverlay()
        defer { paths.stopSideLoops() }
        for round in 0..<rounds {
            try paths.restartSideBySide()
            let (ours, plain) = try paths.rttAtOnce(flanneldFirst: round % 2 == 0)
            rttRounds[.flanneld, default: []].append(ours)
            rttRounds[.plainLoop, default: []].append(plain)
            output(String(format: "  rtt round %d/%d at once: flanneld median %.3f ms (p10 %.3f), plain loop %.3f ms (p10 %.3f)",
                          round + 1, rounds, BenchProbes.median(ours), BenchProbes.percentile(ours, 0.1),
                          BenchProbes.median(plain), BenchProbes.percentile(plain, 0.1)))
        }
        return UDPBenchReport(samples: samples, seconds: seconds, passes: passes, rttRounds: rttRounds)
    }

    /// The paths through one lab: how each is switched on, off and measured.
    struct BenchPaths {
        let lab: Lab
        let hosts: [LabHost]
        let files: [SubnetFile]
        /// Each host's IPv4 subnet, in the one IPv4 `network` (the bench runs IPv4 networks).
        let subnets: [IPv4Network]
        let network: IPv4Network
        let containers: [(namespace: Namespace, address: IPv4Address)]
        let flanneld: String
        let netnsLab: String
        private let loops: [BackgroundProcess]
        /// The plain loop beside flanneld for the RTT rounds: flannel1, UDP `sideLoopPort`, and an
        /// overlay of its own (`sideOverlay`): each container gets a second address in it.
        private let sideLoops: [BackgroundProcess]
        static let sideLoopPort = 8286

        init(lab: Lab, hosts: [LabHost], files: [SubnetFile], containers: [(namespace: Namespace, address: IPv4Address)],
             flanneld: String, netnsLab: String) throws {
            self.lab = lab
            self.hosts = hosts
            self.files = files
            let pairs = try files.map { try $0.ipv4Pair() }
            subnets = pairs.map(\.subnet)
            network = pairs[0].network
            let (subnets, network) = (self.subnets, self.network)
            self.containers = containers
            self.flanneld = flanneld
            self.netnsLab = netnsLab
            /// A plain loop on each host: `subnet(index)` is host index's subnet in `network`.
            func plainLoops(tun: String, port: Int, network: IPv4Network, subnet: (Int) -> IPv4Network, log: String) -> [BackgroundProcess] {
                (0..<2).map { index in
                    BackgroundProcess(
                        command: hosts[index].namespace.command([
                            netnsLab, "plain-loop", "--tun", tun, "--port", String(port),
                            "--address", subnet(index).address.description, "--network", network.description,
                            "--mtu", String(files[index].mtu), "--listen", hosts[index].address.description,
                            "--peer", "\(subnet(1 - index))=\(hosts[1 - index].address)",
                        ]),
                        logFile: hosts[index].directory.appendingPathComponent(log))
                }
            }
            loops = plainLoops(tun: "flannel0", port: 8285, network: network, subnet: { subnets[$0] }, log: "plain-loop.log")
            sideLoops = plainLoops(tun: "flannel1", port: Self.sideLoopPort, network: Self.sideOverlay, subnet: Self.sideSubnet,
                                   log: "side-loop.log")
        }

        /// The side loop's overlay: private addresses the lab's flannel networks do not use.
        static let sideOverlay = IPv4Network("10.254.0.0/16")!
        /// Host `index`'s subnet in it: docker0 is .1, the container .2.
        static func sideSubnet(_ index: Int) -> IPv4Network { IPv4Network("10.254.\(index + 1).0/24")! }
        static func sideAddress(_ index: Int, host: UInt32) -> IPv4Address {
            IPv4Address(bits: sideSubnet(index).address.bits + host)
        }

        /// Before anything is measured: the side overlay must not be part of the flannel network.
        func checkSideOverlay() throws {
            if network.overlaps(Self.sideOverlay) {
                throw BenchFailure(description: "the flannel network \(network) overlaps the bench's side overlay "
                                   + "\(Self.sideOverlay); run the bench with the default network config")
            }
        }

        /// Second addresses in the side overlay for docker0 and the container on each host.
        func addSideOverlay() throws {
            for index in 0..<2 {
                try hosts[index].namespace.ip(["addr", "add", "\(Self.sideAddress(index, host: 1))/24", "dev", "docker0"])
                try containers[index].namespace.ip(["addr", "add", "\(Self.sideAddress(index, host: 2))/24", "dev", "eth0"])
            }
        }

        /// flanneld and the side loops, started afresh and carrying.
        func restartSideBySide() throws {
            try deactivate(.flanneld)
            stopSideLoops()
            try activate(.flanneld)
            for loop in sideLoops { try loop.start() }
            let (source, target) = (containers[0].namespace, Self.sideAddress(1, host: 2))
            try Poll.until("the side loop to carry a ping from \(source) to \(target)", timeout: .seconds(30), interval: .milliseconds(200)) {
                if let dead = sideLoops.first(where: { !$0.isRunning }) {
                    throw BenchFailure(description: "the side loop stopped (\(dead.logFile.path)): \(dead.log.suffix(600))")
                }
                return try source.run(["ping", "-c", "1", "-W", "1", "-I", Self.sideAddress(0, host: 2).description, target.description]).succeeded
            }
        }

        func stopSideLoops() {
            for loop in sideLoops where loop.isRunning { _ = loop.stop() }
        }

        /// One round's pings over flanneld and over the side loop at once: (flanneld's, the loop's).
        func rttAtOnce(flanneldFirst: Bool) throws -> ([Double], [Double]) {
            let ours = (target: containers[1].address, from: IPv4Address?.none)
            let plain = (target: Self.sideAddress(1, host: 2), from: Optional(Self.sideAddress(0, host: 2)))
            let titles = (UDPBenchReport.Path.flanneld.title, "the side plain loop")
            if flanneldFirst {
                return try BenchTraffic.rttAtOnce(from: containers[0].namespace, first: ours, second: plain, over: titles)
            }
            let (loop, flanneld) = try BenchTraffic.rttAtOnce(from: containers[0].namespace, first: plain, second: ours,
                                                               over: (titles.1, titles.0))
            return (flanneld, loop)
        }

        func startIperfServers() throws {
            try BenchTraffic.startIperfServers(in: [hosts[1].namespace, containers[1].namespace], logDirectory: lab.directory)
        }

        func activate(_ path: UDPBenchReport.Path) throws {
            switch path {
            case .flanneld:
                for host in hosts { try host.startAgent(binary: flanneld) }
            case .flanneldPlain:
                for host in hosts { try host.startAgent(binary: flanneld, arguments: ["--udp-offload=off"]) }
            case .plainLoop:
                for loop in loops { try loop.start() }
            case .vxlan:
                // What the vxlan backend programs, typed by hand (COMPAT.md): device, neighbour, FDB, route.
                for (index, host) in hosts.enumerated() {
                    let peer = 1 - index
                    let mac = String(format: "02:00:00:00:00:%02x", index + 1), peerMAC = String(format: "02:00:00:00:00:%02x", peer + 1)
                    try host.namespace.ip(["link", "add", "flannel.1", "address", mac, "mtu", "1450", "type", "vxlan", "id", "1",
                                           "local", host.address.description, "dev", "eth0", "dstport", "8472", "nolearning"])
                    try host.namespace.ip(["addr", "add", "\(subnets[index].address)/32", "dev", "flannel.1"])
                    try host.namespace.ip(["link", "set", "flannel.1", "up"])
                    try host.namespace.ip(["neigh", "add", subnets[peer].address.description, "lladdr", peerMAC, "dev", "flannel.1", "nud", "permanent"])
                    try host.namespace.check(["bridge", "fdb", "append", peerMAC, "dev", "flannel.1", "dst", hosts[peer].address.description, "self", "permanent"])
                    try host.namespace.ip(["route", "add", subnets[peer].description, "via", subnets[peer].address.description,
                                           "dev", "flannel.1", "onlink"])
                }
            case .kernelRoutes:
                for index in 0..<2 {
                    try hosts[index].namespace.ip(["route", "add", subnets[1 - index].description,
                                                   "via", hosts[1 - index].address.description, "dev", "eth0"])
                }
            case .underlay:
                break
            }
            try waitUntilCarrying(path)
        }

        /// Until a ping gets through; a forwarder that died meanwhile is reported with its log.
        func waitUntilCarrying(_ path: UDPBenchReport.Path) throws {
            let (source, target) = endpoints(path)
            try Poll.until("\(path.title) to carry a ping from \(source) to \(target)", timeout: .seconds(30), interval: .milliseconds(200)) {
                let forwarders: [BackgroundProcess] = switch path {
                case .flanneld, .flanneldPlain: hosts.compactMap(\.agent)
                case .plainLoop: loops
                case .vxlan, .kernelRoutes, .underlay: []
                }
                if let dead = forwarders.first(where: { !$0.isRunning }) {
                    throw BenchFailure(description: "\(path.title) stopped (\(dead.logFile.path)): \(dead.log.suffix(600))")
                }
                return try source.run(["ping", "-c", "1", "-W", "1", target.description]).succeeded
            }
        }

        func deactivate(_ path: UDPBenchReport.Path) throws {
            switch path {
            case .flanneld, .flanneldPlain:
                for host in hosts { host.stopAgent() }
            case .plainLoop:
                for loop in loops { loop.stop() }
            case .vxlan:
                for host in hosts { try host.namespace.ip(["link", "del", "flannel.1"]) }
            case .kernelRoutes:
                for index in 0..<2 {
                    try hosts[index].namespace.ip(["route", "del", subnets[1 - index].description])
                }
            case .underlay:
                return
            }
            for host in hosts {
                try Poll.until("flannel0 to go from \(host.namespace)", timeout: .seconds(10)) {
                    !(try host.namespace.run(["ip", "link", "show", "flannel0"]).succeeded)
                }
            }
        }

        /// Who sends and to which address: container to container, or eth0 to eth0.
        func endpoints(_ path: UDPBenchReport.Path) -> (Namespace, IPv4Address) {
            path == .underlay ? (hosts[0].namespace, hosts[1].address) : (containers[0].namespace, containers[1].address)
        }

        /// The processes that forward this path's packets in user space.
        func forwarders(_ path: UDPBenchReport.Path) -> [Int32] {
            let name: String
            switch path {
            case .flanneld, .flanneldPlain: name = "flanneld"
            case .plainLoop: name = "netns-lab"
            case .vxlan, .kernelRoutes, .underlay: return []
            }
            return hosts.flatMap { RunningLab.processes(named: name, in: $0.namespace) }
        }

        func measure(_ path: UDPBenchReport.Path, seconds: Int) throws -> UDPBenchReport.Sample {
            let (source, target) = endpoints(path)
            let rtts = try BenchTraffic.rtt(from: source, to: target, over: path.title)
            let before = try counters()
            let processes = forwarders(path)
            let ticksBefore = processes.compactMap { Self.cpuTicks($0) }.reduce(0, +)
            let clock = ContinuousClock()
            let start = clock.now
            let single = try BenchTraffic.iperf(from: source, to: target, seconds: seconds, streams: 1)
            let wall = clock.now - start
            let ticksAfter = processes.compactMap { Self.cpuTicks($0) }.reduce(0, +)
            let rss = processes.compactMap { pid in
                (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)).flatMap(BenchProbes.residentKilobytes)
            }.max()
            let multi = try BenchTraffic.iperf(from: source, to: target, seconds: seconds, streams: 4)
            let after = try counters()
            let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
            return UDPBenchReport.Sample(
                single: single, multi: multi, pingTimes: rtts,
                tunDrops: after.tunDrops - before.tunDrops, socketDrops: after.socketDrops - before.socketDrops,
                underlayDrops: after.underlayDrops - before.underlayDrops, datagrams: after.datagrams - before.datagrams,
                cpuSeconds: processes.isEmpty ? nil : Double(ticksAfter - ticksBefore) / ticksPerSecond,
                wallSeconds: Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18,
                residentKilobytes: rss)
        }

        /// Both hosts' real losses, by where they happen (flannel0's queue, the UDP socket
        /// buffers, the underlay veths' receive rings), and the frames their eth0 sent (wire-sized:
        /// one per tunnel datagram, whatever a send call carried). A counter that cannot be read
        /// fails the bench rather than turning into a made-up difference.
        func counters() throws -> (tunDrops: Int, socketDrops: Int, underlayDrops: Int, datagrams: Int) {
            var tunDrops = 0, socketDrops = 0, underlayDrops = 0, datagrams = 0
            /// `ip -s -j link show` of `device`: its drops (both directions) and transmitted packets.
            func link(_ device: String, in namespace: Namespace) throws -> (drops: Int, sent: Int) {
                let link = try namespace.check(["ip", "-s", "-j", "link", "show", device])
                guard let drops = BenchProbes.linkDrops(json: link.stdout), let sent = BenchProbes.linkTransmitted(json: link.stdout) else {
                    throw BenchFailure(description: "no packet counters for \(device) in \(namespace): \(link.stdout.prefix(200))")
                }
                return (drops, sent)
            }
            for host in hosts {
                let eth0 = try link("eth0", in: host.namespace)
                underlayDrops += eth0.drops + (try link(lab.switchPort(of: host), in: lab.switchNamespace)).drops
                datagrams += eth0.sent
                let snmp = BenchProbes.snmp(try host.namespace.check(["cat", "/proc/net/snmp"]).stdout, protocol: "Udp")
                guard let received = snmp["RcvbufErrors"], let sent = snmp["SndbufErrors"] else {
                    throw BenchFailure(description: "no Udp RcvbufErrors/SndbufErrors in \(host.namespace)'s /proc/net/snmp")
                }
                socketDrops += received + sent
                let link = try host.namespace.run(["ip", "-s", "-j", "link", "show", "flannel0"])
                if link.succeeded {
                    guard let drops = BenchProbes.linkDrops(json: link.stdout) else {
                        throw BenchFailure(description: "no drop counters for flannel0 in \(host.namespace): \(link.stdout.prefix(200))")
                    }
                    tunDrops += drops
                }
            }
            return (tunDrops, socketDrops, underlayDrops, datagrams)
        }

        static func cpuTicks(_ pid: Int32) -> Int? {
            (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)).flatMap(BenchProbes.cpuTicks)
        }
    }
}

/// The bench could not measure what it set out to, and says why.
public struct BenchFailure: Error, CustomStringConvertible {
    public var description: String
}
