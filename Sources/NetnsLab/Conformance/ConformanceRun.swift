import Agent
import Foundation

/// One scenario's lab: hosts running the binary under test, and the checks every scenario
/// makes the same way for any binary (through etcd, the kernel and pings, never the agent's
/// own log lines).
final class ConformanceRun {
    let lab: Lab
    let etcd: ConformanceEtcd
    let subject: ConformanceSubject
    private(set) var hosts: [LabHost] = []
    private(set) var backend = "udp"

    init(lab: Lab, subject: ConformanceSubject) {
        self.lab = lab
        self.subject = subject
        etcd = ConformanceEtcd(lab: lab, v2: subject.etcdV2)
    }

    /// The network config: 10.1.0.0/16, `backend`, and `extra` members (e.g. `"SubnetMin": …`).
    func writeConfig(backend: String, extra: String = "") throws {
        self.backend = backend
        try etcd.put("config", #"{ "Network": "10.1.0.0/16", \#(extra.isEmpty ? "" : extra + ", ")"Backend": { "Type": "\#(backend)" } }"#)
    }

    /// Cuts `host` off from etcd alone (its peers and the data path stay up), on etcd's side:
    /// packets between them dropped both ways, or (`reset`) its connection attempts answered
    /// with a TCP reset, so it fails fast and retries.
    func cutFromEtcd(_ host: LabHost, reset: Bool = false) throws {
        for rule in etcdRules(host, reset: reset) { try lab.etcdNamespace.check(["iptables", "-I"] + rule) }
    }

    func healFromEtcd(_ host: LabHost, reset: Bool = false) throws {
        for rule in etcdRules(host, reset: reset) { try lab.etcdNamespace.check(["iptables", "-D"] + rule) }
    }

    private func etcdRules(_ host: LabHost, reset: Bool) -> [[String]] {
        let address = host.address.description
        if reset { return [["INPUT", "-s", address, "-p", "tcp", "--dport", "2379", "-j", "REJECT", "--reject-with", "tcp-reset"]] }
        return [["INPUT", "-s", address, "-j", "DROP"], ["OUTPUT", "-d", address, "-j", "DROP"]]
    }

    /// `count` echoes `interval` apart from `from` to `to`, left running.
    func backgroundPing(_ from: (namespace: Namespace, address: IPv4Address), _ to: (namespace: Namespace, address: IPv4Address),
                        count: Int, interval: Duration) throws -> BackgroundPing {
        try BackgroundPing(from: from.namespace, to: to.address, count: count, interval: interval,
                           logFile: lab.directory.appendingPathComponent("ping-\(from.namespace.name).txt"))
    }

    /// Fails unless every echo of `ping` was answered, saying how many were lost and the
    /// longest silence.
    func expectNoLoss(_ ping: BackgroundPing, during what: String) throws {
        let outcome = try ping.finish()
        guard outcome.lost == 0 else {
            throw ConformanceFailure(check: "container pings during \(what)", expected: "every echo answered (the data path does not need etcd)",
                                     happened: "\(outcome.lost) of \(outcome.transmitted) lost, the longest silence \(outcome.longestSilence)")
        }
    }

    /// The usual start: `backend` in the config, then h1 and h2 each running the binary, h1
    /// first (so h1's watch has to see h2's lease). Returns both hosts and h2's subnet.
    func twoHosts(backend: String) throws -> (h1: LabHost, h2: LabHost, peer: IPv4Network) {
        try writeConfig(backend: backend)
        let (h1, h2) = (try addHost(), try addHost())
        try start(h1)
        return (h1, h2, try start(h2))
    }

    /// A container on each host, pinging the other both ways; returns them.
    @discardableResult
    func pingBothWays(_ h1: LabHost, _ h2: LabHost, ttl: Int)
        throws -> (c1: (namespace: Namespace, address: IPv4Address), c2: (namespace: Namespace, address: IPv4Address)) {
        let (c1, c2) = (try h1.addContainer(), try h2.addContainer())
        try ping(c1, c2, ttl: ttl)
        try ping(c2, c1, ttl: ttl)
        return (c1, c2)
    }

    func addHost() throws -> LabHost {
        let host = try lab.addHost(hosts.count + 1)
        hosts.append(host)
        return host
    }

    /// Starts the binary on `host` (`--iface=eth0`, which every release takes) and waits for
    /// its subnet.env (a file from an earlier run must be rewritten).
    @discardableResult
    func start(_ host: LabHost) throws -> IPv4Network {
        let before = Self.modificationDate(host.subnetFilePath)
        try host.startAgent(binary: subject.binary, arguments: ["--iface=eth0"])
        try Poll.until("\(host.namespace)'s subnet.env", timeout: .seconds(30), interval: .milliseconds(100)) {
            guard let agent = host.agent, agent.isRunning || Self.modificationDate(host.subnetFilePath) != before else {
                throw ConformanceFailure(check: "\(host.namespace.name)'s agent starts", expected: "a running agent writing subnet.env",
                                         happened: "it exited: \(self.exitReason(host) ?? "")")
            }
            return Self.modificationDate(host.subnetFilePath) != before
        }
        return try subnet(of: host)
    }

    func subnet(of host: LabHost) throws -> IPv4Network {
        let file = try host.waitForSubnetFile(timeout: .seconds(5))
        guard let subnet = file.subnet else {
            throw ConformanceFailure(check: "subnet.env", expected: "FLANNEL_SUBNET", happened: file.rendered)
        }
        return subnet
    }

    /// `ip route show <subnet>` on `host`, one line, or nil.
    func route(on host: LabHost, to subnet: IPv4Network) throws -> String? {
        let line = try host.namespace.run(["ip", "route", "show", subnet.description]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return line.isEmpty ? nil : line
    }

    /// Waits until `host` routes `subnet` as `expected` says (fragments of `ip route show`;
    /// the route's protocol is the agent's business: ours marks its routes `proto 102`).
    func waitForRoute(on host: LabHost, to subnet: IPv4Network, containing expected: String..., timeout: Duration = .seconds(15)) throws {
        do {
            try Poll.until("\(host.namespace) to route \(subnet)", timeout: timeout, interval: .milliseconds(100)) {
                let line = try route(on: host, to: subnet) ?? ""
                return expected.allSatisfy(line.contains)
            }
        } catch {
            let inEtcd = (try? etcd.get("subnets/\(subnet.address)-\(subnet.prefixLength)")) != nil
            throw ConformanceFailure(check: "\(host.namespace.name)'s route to \(subnet)", expected: "\(subnet) \(expected.joined(separator: " … ")) within \(timeout)",
                                     happened: (try route(on: host, to: subnet) ?? "no route") + (inEtcd ? " (the lease is in etcd: the agent never programmed it)" : "")
                                        + exitNote(host))
        }
    }

    /// Pings until answered (up to 20 s), then three echoes, each answer with `ttl`.
    func ping(_ from: (namespace: Namespace, address: IPv4Address), _ to: (namespace: Namespace, address: IPv4Address), ttl: Int) throws {
        try ping(from.namespace, to.address.description, options: [], ttl: ttl)
    }

    /// The same over IPv6, each answer with `hopLimit`.
    func ping6(_ from: Namespace, _ to: IPv6Address, hopLimit: Int) throws {
        try ping(from, to.description, options: ["-6"], ttl: hopLimit)
    }

    private func ping(_ from: Namespace, _ to: String, options: [String], ttl: Int) throws {
        let check = (["ping"] + options).joined(separator: " ") + " \(from.name) → \(to)"
        do {
            try Poll.until("\(from) to reach \(to)", timeout: .seconds(20), interval: .milliseconds(200)) {
                try from.run(["ping"] + options + ["-c", "1", "-W", "1", to]).succeeded
            }
        } catch {
            throw ConformanceFailure(check: check, expected: "replies within 20 s", happened: "no reply" + missingRoutes() + hosts.map(exitNote).joined())
        }
        let ping = try from.run(["ping"] + options + ["-c", "3", "-W", "2", to])
        guard ping.succeeded, ping.stdout.components(separatedBy: "ttl=\(ttl) ").count - 1 == 3 else {
            throw ConformanceFailure(check: check, expected: "3 replies with \(options.isEmpty ? "ttl" : "hop limit") \(ttl)",
                                     happened: ping.stdout.split(separator: "\n").suffix(3).joined(separator: " | "))
        }
    }

    /// For the kernel backends: each host's missing route to another's subnet whose lease is in
    /// etcd (what a lost lease event leaves behind), as "; h1 has no route to h2's 10.1.5.0/24 (its lease is in etcd)".
    private func missingRoutes() -> String {
        guard backend != "udp" else { return "" }
        var missing: [String] = []
        for host in hosts {
            for peer in hosts where peer !== host {
                guard let subnet = try? subnet(of: peer), (try? etcd.get("subnets/\(subnet.address)-\(subnet.prefixLength)")) != nil,
                      (try? route(on: host, to: subnet)) == nil else { continue }
                missing.append("h\(host.index) has no route to h\(peer.index)'s \(subnet) (its lease is in etcd)")
            }
        }
        return missing.isEmpty ? "" : "; " + missing.joined(separator: "; ")
    }

    /// Why `host`'s agent exited, in its own words (its panic line, else its last line), or
    /// nil while it runs.
    func exitReason(_ host: LabHost) -> String? {
        guard let agent = host.agent, !agent.isRunning else { return nil }
        let lines = agent.log.split(separator: "\n")
        guard let panic = lines.firstIndex(where: { $0.contains("panic:") }) else { return lines.last.map(String.init) ?? "" }
        // Where in flannel's own source: the first frame of the panicking goroutine that is not the runtime's.
        let frame = lines[panic...].first { $0.contains("/flannel/") && $0.contains(".go:") && !$0.contains("/runtime/") }
            .flatMap { line in line.range(of: "/flannel/").map { String(line[$0.upperBound...].split(separator: " ").first ?? "") } }
        return String(lines[panic]) + (frame.map { " (at \($0))" } ?? "")
    }

    /// "; h1's agent exited: …" when it no longer runs, else "".
    func exitNote(_ host: LabHost) -> String {
        exitReason(host).map { "; h\(host.index)'s agent exited: \($0)" } ?? ""
    }

    static func modificationDate(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }
}
