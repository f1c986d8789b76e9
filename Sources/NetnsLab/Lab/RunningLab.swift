import Agent
import Foundation

/// A lab that is up (made by `netns-lab up`, or left by a crashed run), found again from its
/// namespaces: the kernel is the record of what exists, so `status`, `ping`, `capture` and
/// `down` work from any shell, after the command that built the lab has exited.
public struct RunningLab: Sendable {
    public struct Host: Sendable {
        public let index: Int
        public let namespace: Namespace
        public var containers: [Namespace]
        public var name: String { "h\(index)" }
    }

    public struct SelectionError: Error, CustomStringConvertible {
        public let description: String
    }

    public let run: String
    public let hosts: [Host]
    /// The etcd members whose namespaces exist (1 for a single etcd; 1, 2, 3 for a cluster).
    public let etcdMembers: [Int]
    public var hasEtcd: Bool { etcdMembers.contains(1) }

    public var directory: URL { FileManager.default.temporaryDirectory.appendingPathComponent(run) }
    public var etcdNamespace: Namespace { Namespace(name: "\(run)-etcd") }
    /// Every member's client URL, comma-separated.
    var etcdEndpoints: String { etcdMembers.map { "http://\(LabEtcdMember.address(ofMember: $0)):2379" }.joined(separator: ",") }

    /// Every lab whose namespaces exist, by run tag.
    public static func all() -> [RunningLab] {
        let listing = (try? CommandRunner.run(["ip", "netns", "list"]).stdout) ?? ""
        let names = listing.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        return parse(namespaces: names)
    }

    /// Groups namespace names of the lab's form into labs (pure, for tests).
    static func parse(namespaces names: [String]) -> [RunningLab] {
        var byRun: [String: [String]] = [:]
        for name in names where LabNames.isLabNamespace(name) {
            byRun[String(name.prefix(8)), default: []].append(String(name.dropFirst(9)))
        }
        return byRun.keys.sorted().map { run in
            let roles = byRun[run]!
            var hosts: [Int: Host] = [:]
            for role in roles {
                guard let (host, container) = parseRole(role) else { continue }
                var entry = hosts[host] ?? Host(index: host, namespace: Namespace(name: "\(run)-h\(host)"), containers: [])
                if container != nil { entry.containers.append(Namespace(name: "\(run)-\(role)")) }
                hosts[host] = entry
            }
            let sorted = hosts.keys.sorted().map { key in
                var host = hosts[key]!
                host.containers.sort { $0.name.count != $1.name.count ? $0.name.count < $1.name.count : $0.name < $1.name }
                return host
            }
            let members = roles.compactMap { role -> Int? in
                role == "etcd" ? 1 : role.hasPrefix("etcd") ? Int(role.dropFirst(4)) : nil
            }
            return RunningLab(run: run, hosts: sorted, etcdMembers: members.sorted())
        }
    }

    /// "h2" → (2, nil); "h2c1" → (2, 1).
    static func parseRole(_ role: String) -> (Int, Int?)? {
        guard role.hasPrefix("h") else { return nil }
        let parts = role.dropFirst().split(separator: "c", omittingEmptySubsequences: false)
        guard let host = Int(parts[0]) else { return nil }
        if parts.count == 1 { return (host, nil) }
        guard parts.count == 2, let container = Int(parts[1]) else { return nil }
        return (host, container)
    }

    /// The lab named `run`, or the only one up.
    public static func select(run: String?) throws -> RunningLab {
        let labs = all()
        if let run {
            guard let lab = labs.first(where: { $0.run == run }) else {
                throw SelectionError(description: "no lab \(run) is up (up: \(labs.map(\.run).joined(separator: ", ").nilIfEmpty ?? "none")); start one with `netns-lab up`")
            }
            return lab
        }
        switch labs.count {
        case 0: throw SelectionError(description: "no lab is up; start one with `netns-lab up`")
        case 1: return labs[0]
        default: throw SelectionError(description: "several labs are up (\(labs.map(\.run).joined(separator: ", "))); say which with --run")
        }
    }

    /// The namespace of an endpoint: "h1" (a host), "h1c1" (a container), "etcd".
    public func namespace(of endpoint: String) throws -> Namespace {
        if endpoint == "etcd", hasEtcd { return etcdNamespace }
        let known = hosts.flatMap { host in [host.name] + host.containers.map { String($0.name.dropFirst(run.count + 1)) } }
        guard known.contains(endpoint) else {
            throw SelectionError(description: "no \(endpoint) in lab \(run): its hosts and containers are \(known.joined(separator: ", "))")
        }
        return Namespace(name: "\(run)-\(endpoint)")
    }

    /// The IPv4 address of an endpoint's eth0.
    public func address(of endpoint: String) throws -> IPv4Address {
        let namespace = try namespace(of: endpoint)
        let output = try namespace.run(["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).stdout
        guard let address = Self.firstAddress(inIPOneLine: output) else {
            throw SelectionError(description: "\(endpoint) (\(namespace)) has no IPv4 address on eth0")
        }
        return address
    }

    /// What to ping `endpoint` at: its IPv4 address, else (an IPv6-only lab) its global IPv6 one.
    public func pingTarget(of endpoint: String) throws -> String {
        let namespace = try namespace(of: endpoint)
        let ipv4 = try namespace.run(["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).stdout
        if let address = Self.firstAddress(inIPOneLine: ipv4) { return address.description }
        let ipv6 = try namespace.run(["ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global"]).stdout
        let words = ipv6.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard let index = words.firstIndex(of: "inet6"), index + 1 < words.count,
              let address = IPv6Address(String(words[index + 1].split(separator: "/")[0])) else {
            throw SelectionError(description: "\(endpoint) (\(namespace)) has no IPv4 or global IPv6 address on eth0")
        }
        return address.description
    }

    /// "2: eth0    inet 192.0.2.11/24 brd …" → 192.0.2.11.
    static func firstAddress(inIPOneLine text: String) -> IPv4Address? {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard let index = words.firstIndex(of: "inet"), index + 1 < words.count else { return nil }
        return IPv4Address(String(words[index + 1].split(separator: "/")[0]))
    }

    /// Processes in `namespace` whose command name is `name` (from /proc/<pid>/comm).
    public static func processes(named name: String, in namespace: Namespace) -> [Int32] {
        let pids = (try? CommandRunner.run(["ip", "netns", "pids", namespace.name]).stdout) ?? ""
        return pids.split(separator: "\n").compactMap { Int32($0) }.filter { pid in
            let comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
            return comm.trimmingCharacters(in: .whitespacesAndNewlines) == name
        }
    }

    /// A readable report: etcd, each host's agent, subnet, backend device and containers, the leases.
    public func status() -> String {
        var lines = ["lab \(run) (files in \(directory.path))"]
        if hasEtcd {
            lines += etcdMembers.count == 1 ? [singleEtcdStatus()] : etcdClusterStatus()
        } else {
            lines.append("etcd: no etcd namespace")
        }
        lines.append("")
        lines.append("| host | eth0 | flanneld | subnet.env | device | containers |")
        lines.append("|---|---|---|---|---|---|")
        for host in hosts {
            let eth0 = (try? pingTarget(of: host.name)) ?? "-"
            let pids = Self.processes(named: "flanneld", in: host.namespace)
            let agent = pids.isEmpty ? "not running" : "running (pid \(pids.map(String.init).joined(separator: ", ")))"
            let subnetPath = directory.appendingPathComponent(host.name).appendingPathComponent("subnet.env").path
            let subnet = (try? String(contentsOfFile: subnetPath, encoding: .utf8)).flatMap { try? SubnetFile.parse($0) }
            let subnetText = subnet.map { "\($0.subnetsText) mtu \($0.mtu)" } ?? "-"
            let device = Self.backendDevice(in: host.namespace)
            let containers = host.containers.map { container -> String in
                let role = String(container.name.dropFirst(run.count + 1))
                return "\(role) \((try? pingTarget(of: role)) ?? "-")"
            }
            lines.append("| \(host.name) | \(eth0) | \(agent) | \(subnetText) | \(device) | \(containers.joined(separator: ", ").nilIfEmpty ?? "-") |")
        }
        if hasEtcd, let leases = try? CommandRunner.run(etcdNamespace.command(
            ["env", "ETCDCTL_API=3", "etcdctl", "--endpoints", etcdEndpoints, "get", "--prefix", "/coreos.com/network/subnets", "--command-timeout=2s"])),
            leases.succeeded {
            lines.append("")
            lines.append("$ etcdctl get --prefix /coreos.com/network/subnets")
            lines += leases.stdout.split(separator: "\n").map { "    \($0)" }
        }
        return lines.joined(separator: "\n")
    }

    private func singleEtcdStatus() -> String {
        let health = try? CommandRunner.run(etcdNamespace.command(
            ["env", "ETCDCTL_API=3", "etcdctl", "--endpoints", "http://\(Lab.etcdAddress):2379", "endpoint", "health", "--command-timeout=2s"]))
        return "etcd http://\(Lab.etcdAddress):2379 in \(etcdNamespace): \(health?.succeeded == true ? "healthy" : "not answering")"
    }

    /// One line per member: its endpoint, namespace, health, and whether it leads.
    private func etcdClusterStatus() -> [String] {
        var lines = ["etcd: a cluster of \(etcdMembers.count) members"]
        for member in etcdMembers {
            let endpoint = "http://\(LabEtcdMember.address(ofMember: member)):2379"
            let namespace = Namespace(name: "\(run)-\(LabEtcdMember.role(ofMember: member))")
            let shown = (try? CommandRunner.run(etcdNamespace.command(
                ["env", "ETCDCTL_API=3", "etcdctl", "--endpoints", endpoint, "endpoint", "status", "--write-out=json", "--command-timeout=2s"])))
            var state = "not answering"
            if let shown, shown.succeeded, case let .array(entries)? = try? JSONParser.parse(shown.stdout),
               let status = entries.first?.member("Status"), let header = status.member("header") {
                let id = Lab.unsigned(header.member("member_id")) ?? 0
                let leader = Lab.unsigned(status.member("leader")) ?? 0
                let revision = header.member("revision")?.integerValue ?? 0
                state = "healthy, \(leader == 0 ? "no leader" : id == leader ? "LEADER" : "follower"), revision \(revision)"
            }
            lines.append("  m\(member) \(endpoint) in \(namespace): \(state)")
        }
        return lines
    }

    /// The backend's device: "flannel0 up, mtu 1472" (udp), "flannel.1 up, mtu 1450" (vxlan),
    /// "flannel-v6.1 up, mtu 1430" (vxlan, IPv6-only), "flannel-wg up, mtu 1420" (wireguard),
    /// or "none" (host-gw, or no agent has run).
    static func backendDevice(in namespace: Namespace) -> String {
        for name in ["flannel0", "flannel-wg"] {
            if let link = try? namespace.run(["ip", "-o", "link", "show", "dev", name]), link.succeeded {
                return "\(name) " + linkSummary(link.stdout)
            }
        }
        let vxlan = (try? namespace.run(["ip", "-o", "link", "show", "type", "vxlan"]))?.stdout ?? ""
        let lines = vxlan.split(separator: "\n")
        if let line = lines.first(where: { $0.contains(": flannel.") }) ?? lines.first(where: { $0.contains(": flannel-v6.") }) {
            let name = line.split(separator: " ").dropFirst().first.map { String($0.dropLast()) } ?? "flannel.?"
            return "\(name) " + linkSummary(String(line))
        }
        return "none"
    }

    /// "5: flannel0: <POINTOPOINT,…,UP,LOWER_UP> mtu 1472 qdisc …" → "up, mtu 1472".
    static func linkSummary(_ line: String) -> String {
        let words = line.split(separator: " ")
        let mtu = words.firstIndex(of: "mtu").flatMap { $0 + 1 < words.count ? String(words[$0 + 1]) : nil } ?? "?"
        let flags = words.first { $0.hasPrefix("<") } ?? ""
        let up = flags.contains(",UP") || flags.contains("<UP")
        return "\(up ? "up" : "down"), mtu \(mtu)"
    }
}
