import Agent
import Foundation

/// `netns-lab bench --backend vxlan|host-gw`: the kernel data path flanneld programs, next to
/// the same path built by hand with `ip`/`bridge` in the same lab, and the underlay, container
/// to container between two hosts, pass after pass. The agents' path should be the kernel's
/// own speed: the goal is ≥ 0.95× the hand-built one.
public struct KernelBench {
    public enum Backend: String, Sendable, CaseIterable {
        case vxlan
        case hostGW = "host-gw"
    }

    public var backend: Backend
    public var flanneld: String
    public var seconds = 5
    public var passes = 3
    /// GRO at the hosts' eth0, as a NIC driver does (`Lab.emulateNICs`); off: a veth's default.
    public var underlayGRO = true
    public var output: (String) -> Void

    public init(backend: Backend, flanneld: String, output: @escaping (String) -> Void) {
        self.backend = backend
        self.flanneld = flanneld
        self.output = output
    }

    public func run(names: LabNames = LabNames()) throws -> KernelBenchReport {
        var bringUp = LabBringUp(flanneld: flanneld)
        bringUp.networkConfig = #"{ "Network": "10.1.0.0/16", "Backend": { "Type": "\#(backend.rawValue)" } }"#
        bringUp.hosts = 2  // the paths below are between h1 and h2
        let setup = try bringUp.run(names: names) { output("  \($0)") }
        defer { setup.lab.destroy() }
        try setup.lab.emulateNICs(receiveOffload: underlayGRO)
        let paths = Paths(backend: backend, lab: setup, flanneld: flanneld)
        try BenchTraffic.startIperfServers(in: [setup.hosts[1].namespace, setup.containers[1][0].namespace], logDirectory: setup.lab.directory)
        var samples: [KernelBenchReport.Path: [KernelBenchReport.Sample]] = [:]
        var active = KernelBenchReport.Path.flanneld
        try paths.waitUntilCarrying(.flanneld)
        for pass in 1...max(1, passes) {
            for path in KernelBenchReport.Path.allCases {
                if path != active && path != .underlay {
                    try paths.switchTo(path)
                    active = path
                }
                let (source, target) = paths.endpoints(path)
                let rtt = BenchProbes.median(try BenchTraffic.rtt(from: source, to: target, over: path.title(backend)))
                let single = try BenchTraffic.iperf(from: source, to: target, seconds: seconds, streams: 1)
                let multi = try BenchTraffic.iperf(from: source, to: target, seconds: seconds, streams: 4)
                let sample = KernelBenchReport.Sample(single: single, multi: multi, rttMilliseconds: rtt)
                samples[path, default: []].append(sample)
                output(String(format: "  pass %d/%d  %@: 1 stream %.2f Gbit/s, 4 streams %.2f Gbit/s, rtt median %.3f ms",
                              pass, passes, path.title(backend), single.bitsPerSecond / 1e9, multi.bitsPerSecond / 1e9, rtt))
            }
        }
        return KernelBenchReport(backend: backend, samples: samples, seconds: seconds, passes: passes)
    }

    /// Switching between the agents' kernel path and the hand-built one in one lab.
    struct Paths {
        let backend: Backend
        let lab: LabBringUp.Result
        let flanneld: String

        var hosts: [LabHost] { lab.hosts }
        var subnets: [IPv4Network] { lab.subnetFiles.compactMap(\.subnet) }

        func endpoints(_ path: KernelBenchReport.Path) -> (Namespace, IPv4Address) {
            path == .underlay ? (hosts[0].namespace, hosts[1].address)
                : (lab.containers[0][0].namespace, lab.containers[1][0].address)
        }

        /// From the agents to the hand-built path (agents stopped, their entries removed
        /// first), or back (hand-built entries removed, agents started: they rebuild theirs).
        func switchTo(_ path: KernelBenchReport.Path) throws {
            switch path {
            case .byHand:
                for host in hosts { host.stopAgent() }
                try removeEntries()
                try buildByHand()
            case .flanneld:
                try removeEntries()
                for host in hosts { try host.startAgent(binary: flanneld) }
            case .underlay:
                return
            }
            try waitUntilCarrying(path)
        }

        private func removeEntries() throws {
            for (index, host) in hosts.enumerated() {
                switch backend {
                case .vxlan:
                    _ = try host.namespace.run(["ip", "link", "del", "flannel.1"])
                case .hostGW:
                    _ = try host.namespace.run(["ip", "route", "del", subnets[1 - index].description])
                }
            }
        }

        /// What upstream's backends do, typed by hand: COMPAT.md's entries for the one peer.
        private func buildByHand() throws {
            for (index, host) in hosts.enumerated() {
                let peer = 1 - index
                switch backend {
                case .vxlan:
                    let mac = String(format: "02:00:00:00:00:%02x", index + 1), peerMAC = String(format: "02:00:00:00:00:%02x", peer + 1)
                    try host.namespace.ip(["link", "add", "flannel.1", "address", mac, "mtu", "1450", "type", "vxlan", "id", "1",
                                           "local", host.address.description, "dev", "eth0", "dstport", "8472", "nolearning"])
                    try host.namespace.ip(["addr", "add", "\(subnets[index].address)/32", "dev", "flannel.1"])
                    try host.namespace.ip(["link", "set", "flannel.1", "up"])
                    try host.namespace.ip(["neigh", "add", subnets[peer].address.description, "lladdr", peerMAC, "dev", "flannel.1", "nud", "permanent"])
                    try host.namespace.check(["bridge", "fdb", "append", peerMAC, "dev", "flannel.1", "dst", hosts[peer].address.description, "self", "permanent"])
                    try host.namespace.ip(["route", "add", subnets[peer].description, "via", subnets[peer].address.description, "dev", "flannel.1", "onlink"])
                case .hostGW:
                    try host.namespace.ip(["route", "add", subnets[peer].description, "via", hosts[peer].address.description, "dev", "eth0"])
                }
            }
        }

        func waitUntilCarrying(_ path: KernelBenchReport.Path) throws {
            let (source, target) = endpoints(path)
            try Poll.until("\(path.title(backend)) to carry a ping from \(source) to \(target)", timeout: .seconds(30), interval: .milliseconds(200)) {
                if path == .flanneld, let dead = hosts.compactMap(\.agent).first(where: { !$0.isRunning }) {
                    throw BenchFailure(description: "flanneld stopped (\(dead.logFile.path)): \(dead.log.suffix(600))")
                }
                return try source.run(["ping", "-c", "1", "-W", "1", target.description]).succeeded
            }
        }
    }
}
