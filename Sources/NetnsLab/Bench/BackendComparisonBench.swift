import Agent
import Foundation

/// `netns-lab bench --backend wireguard`: wireguard (wireguard-go here) next to udp, vxlan and
/// host-gw and the underlay, container to container between the same two lab hosts, the
/// backend switched in turn in one lab (agents stopped, the previous backend's devices and
/// routes removed, the config rewritten, agents started; each host keeps its subnet and its
/// containers, whose MTU follows the backend's FLANNEL_MTU as docker's would after a restart).
/// Per path: throughput with 1 and 4 streams, RTT and loss over 100 pings, and the CPU time
/// the whole machine spent per Gbit carried (so a user-space data path's cost counts whatever
/// process it is in), besides the forwarding processes' own share.
public struct BackendComparisonBench {
    public var flanneld: String
    public var seconds = 5
    public var passes = 3
    public var underlayGRO = true
    public var output: (String) -> Void

    public init(flanneld: String, output: @escaping (String) -> Void) {
        self.flanneld = flanneld
        self.output = output
    }

    public func run(names: LabNames = LabNames()) throws -> BackendComparisonReport {
        var bringUp = LabBringUp(flanneld: flanneld)
        bringUp.networkConfig = Self.config(.wireguard)
        bringUp.hosts = 2
        let setup = try bringUp.run(names: names) { output("  \($0)") }
        defer { setup.lab.destroy() }
        try setup.lab.emulateNICs(receiveOffload: underlayGRO)
        try BenchTraffic.startIperfServers(in: [setup.hosts[1].namespace, setup.containers[1][0].namespace], logDirectory: setup.lab.directory)
        var samples: [BackendComparisonReport.Path: [BackendComparisonReport.Sample]] = [:]
        var active: BackendComparisonReport.Path? = .wireguard
        try waitUntilCarrying(setup)
        for pass in 1...max(1, passes) {
            for path in BackendComparisonReport.Path.allCases {
                if path != .underlay, path != active {
                    try switchTo(path, setup)
                    active = path
                }
                let (source, target) = path == .underlay ? (setup.hosts[0].namespace, setup.hosts[1].address)
                    : (setup.containers[0][0].namespace, setup.containers[1][0].address)
                Thread.sleep(forTimeInterval: BenchTraffic.settleBeforePing)
                let ping = try source.run(BenchTraffic.pingArguments + [target.description])
                let times = BenchProbes.pingTimes(ping.stdout)
                guard !times.isEmpty else { throw BenchFailure(description: "no ping replies over \(path.rawValue): \(ping.stdout.suffix(300))") }
                let single = try BenchTraffic.iperf(from: source, to: target, seconds: seconds, streams: 1)
                let before = CPUTime.now(forwarders: forwarders(setup))
                let multi = try BenchTraffic.iperf(from: source, to: target, seconds: seconds, streams: 4)
                let after = CPUTime.now(forwarders: forwarders(setup))
                let sample = BackendComparisonReport.Sample(
                    single: single, multi: multi, rttMilliseconds: BenchProbes.median(times), pingsLost: 100 - times.count,
                    machineCPUSeconds: after.machine - before.machine, forwarderCPUSeconds: after.forwarders - before.forwarders,
                    gigabits: multi.bitsPerSecond * Double(seconds) / 1e9)
                samples[path, default: []].append(sample)
                output(String(format: "  pass %d/%d  %@: 1 stream %.2f Gbit/s, 4 streams %.2f Gbit/s, rtt median %.3f ms, %d of 100 pings lost, %.2f CPU s per Gbit",
                              pass, passes, path.rawValue, single.bitsPerSecond / 1e9, multi.bitsPerSecond / 1e9, sample.rttMilliseconds,
                              sample.pingsLost, sample.cpuSecondsPerGigabit))
            }
        }
        return BackendComparisonReport(samples: samples, seconds: seconds, passes: passes)
    }

    static func config(_ path: BackendComparisonReport.Path) -> String {
        #"{ "Network": "10.1.0.0/16", "Backend": { "Type": "\#(path.rawValue)" } }"#
    }

    /// The processes that forward in user space on the two hosts: flanneld (udp) and wireguard-go.
    private func forwarders(_ setup: LabBringUp.Result) -> [Int32] {
        setup.hosts.flatMap { host in
            RunningLab.processes(named: "flanneld", in: host.namespace) + RunningLab.processes(named: "wireguard-go", in: host.namespace)
        }
    }

    private func switchTo(_ path: BackendComparisonReport.Path, _ setup: LabBringUp.Result) throws {
        for host in setup.hosts {
            host.stopAgent()
            for pid in RunningLab.processes(named: "wireguard-go", in: host.namespace) { kill(pid, SIGKILL) }
            for device in ["flannel.1", "flannel-wg", "flannel0"] { _ = try host.namespace.run(["ip", "link", "del", device]) }
            // host-gw's routes via eth0 (the others went with their devices).
            _ = try host.namespace.run(["ip", "-4", "route", "flush", "root", "10.1.0.0/16", "dev", "eth0"])
        }
        try setup.lab.etcdctl(["put", "/coreos.com/network/config", Self.config(path)])
        for host in setup.hosts {
            try FileManager.default.removeItem(atPath: host.subnetFilePath)
            try host.startAgent(binary: flanneld)
        }
        // Each keeps its subnet (the lease in etcd is its own); the MTU is the new backend's.
        for (index, host) in setup.hosts.enumerated() {
            let file = try host.waitForSubnetFile()
            guard file.subnet == setup.subnetFiles[index].subnet else {
                throw BenchFailure(description: "\(host.namespace) moved from \(setup.subnetFiles[index].subnet.map { "\($0)" } ?? "?") to \(file.subnet.map { "\($0)" } ?? "?") on switching to \(path.rawValue)")
            }
            for container in setup.containers[index] { try container.namespace.ip(["link", "set", "eth0", "mtu", String(file.mtu)]) }
            for number in 1...setup.containers[index].count { try host.namespace.ip(["link", "set", "veth\(number)", "mtu", String(file.mtu)]) }
            try host.namespace.ip(["link", "set", "docker0", "mtu", String(file.mtu)])
        }
        try waitUntilCarrying(setup)
        output("  switched to \(path.rawValue): MTU \(try setup.hosts[0].waitForSubnetFile().mtu)")
    }

    private func waitUntilCarrying(_ setup: LabBringUp.Result) throws {
        let source = setup.containers[0][0].namespace, target = setup.containers[1][0].address
        try Poll.until("a ping across", timeout: .seconds(30), interval: .milliseconds(500)) {
            try source.run(["ping", "-c", "1", "-W", "1", target.description]).succeeded
        }
    }
}

/// CPU time: the whole machine's (every CPU's busy time, /proc/stat) and some processes' own
/// (user + system, /proc/<pid>/stat), in seconds.
struct CPUTime {
    var machine: Double
    var forwarders: Double

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    static func now(forwarders pids: [Int32]) -> CPUTime {
        let stat = (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)) ?? ""
        let fields = stat.split(separator: "\n").first?.split(separator: " ").dropFirst().compactMap { Double($0) } ?? []
        // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
        let busy = fields.enumerated().filter { $0.offset < 8 && $0.offset != 3 && $0.offset != 4 }.map(\.element).reduce(0, +)
        var own = 0.0
        for pid in pids {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else { continue }
            let rest = text[text.index(after: close)...].split(separator: " ")
            // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command name.
            if rest.count > 12, let user = Double(rest[11]), let system = Double(rest[12]) { own += user + system }
        }
        return CPUTime(machine: busy / ticksPerSecond, forwarders: own / ticksPerSecond)
    }
}
