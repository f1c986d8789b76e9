import Agent
import ClusterScenarios
import Foundation
import Synchronization

/// Fake hosts from network namespaces, wired like this:
///
/// ```
///            <run>-sw (bridge br0: the underlay, 192.0.2.0/24; with `ipv6`, also 2001:db8::/64)
///        ┌──────────┼──────────────┬──────────────┐
///   <run>-etcd    <run>-h1       <run>-h2   …  (eth0 192.0.2.2, .11, .12, …; 2001:db8::2, ::11, …)
///   etcd :2379    flanneld       flanneld
///   (<run>-etcd2, <run>-etcd3, … at .3, .4, …: the other members of an etcd cluster)
///                 docker0        docker0       (from each host's subnet.env)
///                 <run>-h1c1     <run>-h2c1    (containers behind veths)
/// ```
///
/// With `ipv6Only` the hosts' eth0 has no IPv4 address at all: the agents reach etcd at
/// [2001:db8::2] and find their interface by its IPv6 default route (an IPv6-only host).
///
/// Every namespace and link name starts with the run's tag, so `Lab.clean()` removes exactly
/// what labs made; nothing is added to the root namespace but the processes themselves.
public final class Lab: Sendable {
    public let names: LabNames
    public let directory: URL
    public let switchNamespace: Namespace
    public let etcdNamespace: Namespace
    public static let etcdAddress = IPv4Address(192, 0, 2, 2)
    /// The IPv6 underlay beside the IPv4 one (a documentation prefix, inside namespaces only).
    public static let ipv6Underlay = IPv6Network("2001:db8::/64")!
    public static let etcdIPv6Address = IPv6Address("2001:db8::2")!
    /// Whether hosts get an IPv6 underlay address too (dual-stack labs).
    public let ipv6: Bool
    /// Whether hosts get the IPv6 underlay address only (IPv6-only hosts).
    public let ipv6Only: Bool
    /// The file that marks a directory as a lab run's.
    static let marker = ".netns-lab-run"
    /// Every member's client URL, comma-separated (etcdctl's and flanneld's endpoint list).
    public var etcdEndpoint: String { etcdMembers.map(\.clientURL).joined(separator: ",") }
    /// The endpoints the agents are given: over IPv6 on IPv6-only hosts.
    public var agentEtcdEndpoint: String {
        ipv6Only ? etcdMembers.compactMap(\.ipv6ClientURL).joined(separator: ",") : etcdEndpoint
    }
    /// etcd serves TLS with these certificates and requires client certificates (S14).
    public let etcdTLS: TestCertificates?
    /// etcd's members: one, or a cluster of 3 or 5 (`etcdMembers`).
    public let etcdMembers: [LabEtcdMember]
    private let hostsState = Mutex<[LabHost]>([])

    public var hosts: [LabHost] { hostsState.withLock { $0 } }

    /// `etcdTLS`: etcd serves TLS and requires client certificates; `enableV2`: etcd serves
    /// its v2 API too (the walkthrough's `etcdctl set`, users and roles).
    /// `ipv6`: every host's eth0 gets an address on `ipv6Underlay` as well.
    /// `ipv6Only`: eth0 gets the IPv6 address alone (implies `ipv6`).
    /// `etcdMembers`: etcd as a cluster of this many members, each in its own namespace.
    public init(names: LabNames = LabNames(), etcdTLS: TestCertificates? = nil, enableV2: Bool = false, ipv6: Bool = false,
                ipv6Only: Bool = false, etcdMembers: Int = 1) throws {
        guard (1...Self.maximumEtcdMembers).contains(etcdMembers) else {
            throw EtcdProcess.StartFailure(reason: "a lab's etcd has 1 to \(Self.maximumEtcdMembers) members (192.0.2.2 up to the hosts' .11), not \(etcdMembers)")
        }
        self.names = names
        self.ipv6 = ipv6 || ipv6Only
        self.ipv6Only = ipv6Only
        self.etcdTLS = etcdTLS
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(names.run)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // `netns-lab clean` deletes only directories that carry this marker.
        _ = FileManager.default.createFile(atPath: directory.appendingPathComponent(Self.marker).path, contents: Data(names.run.utf8))
        switchNamespace = Namespace(name: names.namespace("sw"))
        let directory = directory
        self.etcdMembers = (1...etcdMembers).map {
            LabEtcdMember(index: $0, names: names, directory: directory, ipv6: ipv6 || ipv6Only, tls: etcdTLS, enableV2: enableV2)
        }
        etcdNamespace = self.etcdMembers[0].namespace
        do {
            try CommandRunner.check(["ip", "netns", "add", switchNamespace.name])
            try switchNamespace.ip(["link", "add", "br0", "type", "bridge"])
            try switchNamespace.ip(["link", "set", "br0", "up"])
            for member in self.etcdMembers {
                try plug(member.namespace, address: member.address, role: LabEtcdMember.role(ofMember: member.index), ipv6: member.ipv6Address)
            }
            try startEtcd()
        } catch {
            destroy()
            throw error
        }
    }

    /// Members fit between the switch (.1) and the first host (.11).
    public static let maximumEtcdMembers = 9

    /// A new namespace with `eth0` on the switch at `address` (none: an IPv6-only host) and `ipv6`.
    private func plug(_ namespace: Namespace, address: IPv4Address?, role: String, ipv6: IPv6Address? = nil) throws {
        try CommandRunner.check(["ip", "netns", "add", namespace.name])
        try namespace.ip(["link", "set", "lo", "up"])
        let port = names.interface(role)
        try CommandRunner.check(["ip", "link", "add", port, "netns", switchNamespace.name, "type", "veth", "peer", "name", "eth0", "netns", namespace.name])
        try switchNamespace.ip(["link", "set", port, "master", "br0", "up"])
        if let address { try namespace.ip(["addr", "add", "\(address)/24", "dev", "eth0"]) }
        // nodad: usable at once, no tentative phase for the agent to trip over.
        if let ipv6 { try namespace.ip(["-6", "addr", "add", "\(ipv6)/64", "dev", "eth0", "nodad"]) }
        try namespace.ip(["link", "set", "eth0", "up"])
    }

    /// Every member's `name=peerURL`: the cluster etcd starts as.
    var initialCluster: String { etcdMembers.map { "\($0.name)=\($0.peerURL)" }.joined(separator: ",") }

    /// Stops every member of the lab's etcd (an outage); `startEtcd()` brings them back on the same data.
    public func stopEtcd() {
        // At once, not one after another: each may take its grace period to exit.
        let members = etcdMembers
        DispatchQueue.concurrentPerform(iterations: members.count) { members[$0].stop() }
    }

    /// Starts every member that is not running and waits until all of them answer.
    public func startEtcd() throws {
        for member in etcdMembers where !member.isRunning { try member.start(initialCluster: initialCluster) }
        try waitForEtcd(etcdMembers)
    }

    /// Waits until each of `members` answers `endpoint health` (a member of a cluster answers
    /// once the cluster has a leader).
    func waitForEtcd(_ members: [LabEtcdMember], timeout: Duration = .seconds(30)) throws {
        let endpoints = members.map(\.clientURL).joined(separator: ",")
        try Poll.until("etcd \(members.map(\.name).joined(separator: ", ")) to answer", timeout: timeout, interval: .milliseconds(100)) {
            if let dead = members.first(where: { !$0.isRunning }) {
                throw EtcdProcess.StartFailure(reason: "etcd member \(dead.name) in \(dead.namespace) exited: \(dead.log.suffix(800))")
            }
            return (try? etcdctl(["endpoint", "health", "--command-timeout=1s"], endpoints: endpoints))?.succeeded ?? false
        }
    }

    /// etcd's current revision (v3).
    public func etcdRevision() throws -> Int64 {
        let shown = try etcdctl(["get", "/", "--prefix", "--keys-only", "--limit=1", "--write-out=json"]).stdout
        guard let revision = try JSONParser.parse(shown).member("header")?.member("revision")?.integerValue else {
            throw ScenarioFailure("no revision in etcdctl's answer: \(shown)")
        }
        return Int64(revision)
    }

    /// Compacts etcd's history up to its current revision (v3): older watches get "compacted".
    public func compactEtcd() throws {
        try etcdctl(["compact", String(try etcdRevision())])
    }

    /// etcdctl (v3) inside the etcd namespace, against every member (or `endpoints`).
    @discardableResult
    public func etcdctl(_ arguments: [String], endpoints: String? = nil) throws -> CommandResult {
        var command = ["env", "ETCDCTL_API=3", "etcdctl", "--endpoints", endpoints ?? etcdEndpoint]
        if let etcdTLS { command += ["--cacert", etcdTLS.caFile, "--cert", etcdTLS.clientCertFile, "--key", etcdTLS.clientKeyFile] }
        return try CommandRunner.check(etcdNamespace.command(command + arguments))
    }

    /// The etcdctl (v2 API) command line inside the etcd namespace, with the lab's TLS files
    /// and `credentials` ("user:password") when given.
    public func etcdctlV2Command(_ arguments: [String], credentials: String? = nil) -> [String] {
        var command = ["env", "ETCDCTL_API=2", "etcdctl", "--endpoints", etcdEndpoint]
        if let etcdTLS { command += ["--ca-file", etcdTLS.caFile, "--cert-file", etcdTLS.clientCertFile, "--key-file", etcdTLS.clientKeyFile] }
        if let credentials { command += ["--username", credentials] }
        return etcdNamespace.command(command + arguments)
    }

    /// Host `index` (1, 2, …): `eth0` at 192.0.2.(10 + index), forwarding on, a default route.
    @discardableResult
    public func addHost(_ index: Int) throws -> LabHost {
        let namespace = Namespace(name: names.namespace("h\(index)"))
        let address = IPv4Address(192, 0, 2, UInt8(10 + index))
        try plug(namespace, address: ipv6Only ? nil : address, role: "h\(index)", ipv6: ipv6 ? Self.ipv6Address(ofHost: index) : nil)
        try namespace.check(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        // A default route inside the lab only: the agent picks its interface from it.
        if !ipv6Only { try namespace.ip(["route", "add", "default", "via", "192.0.2.1", "dev", "eth0", "onlink"]) }
        if ipv6 {
            try namespace.check(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
            try namespace.ip(["-6", "route", "add", "default", "via", "2001:db8::1", "dev", "eth0", "onlink"])
        }
        let host = LabHost(lab: self, index: index, namespace: namespace, address: address,
                           directory: directory.appendingPathComponent("h\(index)"))
        try FileManager.default.createDirectory(at: host.directory, withIntermediateDirectories: true)
        hostsState.withLock { $0.append(host) }
        return host
    }

    /// Host `index`'s IPv6 underlay address in a dual-stack lab, spelt like its IPv4 one:
    /// h1 (192.0.2.11) is 2001:db8::11.
    public static func ipv6Address(ofHost index: Int) -> IPv6Address {
        ipv6Underlay.address.advanced(by: UInt128(Int("\(10 + index)", radix: 16)!))!
    }

    /// The switch's end of `host`'s underlay veth pair (in `switchNamespace`).
    public func switchPort(of host: LabHost) -> String { names.interface("h\(host.index)") }

    /// Underlay veths that behave like NICs on a wire: a veth otherwise hands GSO super-packets
    /// through whole, which no real NIC does, and inflates every figure; and it hands received
    /// frames one by one to the stack, where a NIC's driver hands them to GRO. So on every
    /// host's underlay veth pair: `gso_max_segs 1` at both ends (frames leave wire-sized), GRO on
    /// at the host's end (its NAPI receive path, as a NIC driver has), TSO off at the switch's end
    /// (a veth joins only frames from a peer that does not offer TSO; the frames the switch
    /// forwards are wire-sized anyway).
    /// `receiveOffload: false` leaves GRO off, as a veth has it by default.
    public func emulateNICs(receiveOffload: Bool = true) throws {
        for host in hosts {
            let port = switchPort(of: host)
            try host.namespace.ip(["link", "set", "dev", "eth0", "gso_max_segs", "1"])
            try switchNamespace.ip(["link", "set", "dev", port, "gso_max_segs", "1"])
            guard receiveOffload else { continue }
            try switchNamespace.setOffload(.tso, on: false, interface: port)
            try host.namespace.setOffload(.gro, on: true, interface: "eth0")
        }
    }

    /// Stops every process and deletes every namespace of this run, and the run's files.
    public func destroy() {
        for host in hosts { host.stopDocker() }
        for host in hosts { host.stopAgent() }
        stopEtcd()
        Self.deleteNamespaces(matching: names.run)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Removes the namespaces of every lab run (`netns-lab clean`), also after a crash. Only
    /// names of the lab's own form (`fl` + six hex digits + `-`) are touched.
    @discardableResult
    public static func clean() -> [String] {
        deleteNamespaces(matching: nil)
    }

    /// SIGKILLs every process in the run's namespaces, leaving the namespaces (an interrupted
    /// job then fails out of its step and removes the lab itself).
    public static func killProcesses(run: String) {
        let listing = (try? CommandRunner.run(["ip", "netns", "list"], duringCleanup: true).stdout) ?? ""
        for name in listing.split(separator: "\n").compactMap({ $0.split(separator: " ").first }) where name.hasPrefix(run + "-") {
            killProcesses(in: String(name))
        }
    }

    private static func killProcesses(in namespace: String) {
        let pids = (try? CommandRunner.run(["ip", "netns", "pids", namespace], duringCleanup: true).stdout) ?? ""
        for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
    }

    /// Removes one run's namespaces (a Ctrl-C'd demo cleaning up after itself).
    @discardableResult
    public static func clean(run: String) -> [String] {
        deleteNamespaces(matching: run)
    }

    @discardableResult
    private static func deleteNamespaces(matching run: String?) -> [String] {
        guard let listing = try? CommandRunner.run(["ip", "netns", "list"], duringCleanup: true).stdout else { return [] }
        var removed: [String] = []
        for line in listing.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            let ours = run.map { name.hasPrefix($0 + "-") } ?? LabNames.isLabNamespace(name)
            guard ours else { continue }
            // Processes inside (agents, etcd) die with their namespace's links, not with it:
            // kill them first.
            killProcesses(in: name)
            if (try? CommandRunner.run(["ip", "netns", "del", name], duringCleanup: true))?.succeeded == true { removed.append(name) }
        }
        // Docker's containers live in namespaces of docker's making, found by their cgroups.
        removed += DockerEngine.removeCgroups(matching: run)
        // The runs' files (logs, etcd data, subnet.env) go too.
        let temporary = FileManager.default.temporaryDirectory
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []
        for entry in entries where run.map({ entry == $0 }) ?? LabNames.isRunTag(entry)
            && FileManager.default.fileExists(atPath: temporary.appendingPathComponent(entry).appendingPathComponent(marker).path) {
            if (try? FileManager.default.removeItem(at: temporary.appendingPathComponent(entry))) != nil { removed.append(temporary.appendingPathComponent(entry).path) }
        }
        return removed
    }
}
