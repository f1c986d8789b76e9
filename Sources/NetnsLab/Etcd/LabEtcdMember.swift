import Agent
import Foundation
import Synchronization

/// One member of the lab's etcd: its own namespace on the underlay (member 1 in `<run>-etcd`
/// at 192.0.2.2, member N in `<run>-etcdN` at 192.0.2.(N + 1)), clients on :2379 and peers on
/// :2380 of that address, its data in the run's directory. Peers talk over the underlay, so a
/// member can be cut off from the others while clients still reach it.
public final class LabEtcdMember: Sendable {
    /// 1, 2, … (etcd's `--name` is "m1", "m2", …).
    public let index: Int
    public let namespace: Namespace
    public let address: IPv4Address
    /// Its IPv6 underlay address, when the lab has one.
    public let ipv6Address: IPv6Address?
    public let dataDirectory: URL
    public let logFile: URL
    private let tls: TestCertificates?
    private let enableV2: Bool
    private let process = Mutex<BackgroundProcess?>(nil)

    public var name: String { "m\(index)" }
    public var peerURL: String { "http://\(address):2380" }
    /// What clients reach it at over IPv4 (and `ipv6ClientURL` over IPv6).
    public var clientURL: String { "\(scheme)://\(address):2379" }
    public var ipv6ClientURL: String? { ipv6Address.map { "\(scheme)://[\($0)]:2379" } }
    private var scheme: String { tls == nil ? "http" : "https" }

    /// The addresses of member `index`: 192.0.2.(index + 1), and 2001:db8::(index + 1).
    public static func address(ofMember index: Int) -> IPv4Address { IPv4Address(192, 0, 2, UInt8(1 + index)) }
    public static func ipv6Address(ofMember index: Int) -> IPv6Address { Lab.ipv6Underlay.address.advanced(by: UInt128(1 + index))! }
    /// Member namespaces' roles: "etcd" for the first (the single etcd of every other lab), "etcd2", ….
    public static func role(ofMember index: Int) -> String { index == 1 ? "etcd" : "etcd\(index)" }

    init(index: Int, names: LabNames, directory: URL, ipv6: Bool, tls: TestCertificates?, enableV2: Bool) {
        self.index = index
        namespace = Namespace(name: names.namespace(Self.role(ofMember: index)))
        address = Self.address(ofMember: index)
        ipv6Address = ipv6 ? Self.ipv6Address(ofMember: index) : nil
        dataDirectory = directory.appendingPathComponent(index == 1 ? "etcd-data" : "etcd\(index)-data")
        logFile = directory.appendingPathComponent(index == 1 ? "etcd.log" : "etcd\(index).log")
        self.tls = tls
        self.enableV2 = enableV2
    }

    /// Starts the member (without waiting for it to answer). `initialCluster` is every member's
    /// `name=peerURL`; `existing`: it joins a running cluster (after `member add`).
    func start(initialCluster: String, existing: Bool = false) throws {
        guard !isRunning else { return }
        var clientURLs = clientURL
        if let ipv6ClientURL { clientURLs += ",\(ipv6ClientURL)" }
        var command = [
            "etcd", "--name", name, "--data-dir", dataDirectory.path,
            "--listen-client-urls", clientURLs, "--advertise-client-urls", clientURLs,
            "--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
            "--initial-cluster", initialCluster, "--initial-cluster-state", existing ? "existing" : "new",
            "--initial-cluster-token", "lab", "--log-level", "warn",
        ]
        if let tls {
            command += ["--cert-file", tls.serverCertFile, "--key-file", tls.serverKeyFile,
                        "--trusted-ca-file", tls.caFile, "--client-cert-auth"]
        }
        if enableV2 { command.append("--enable-v2") }
        let child = BackgroundProcess(command: namespace.command(command), logFile: logFile)
        try child.start()
        process.withLock { $0 = child }
    }

    public var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }
    public var processIdentifier: Int32? { process.withLock { $0?.processIdentifier } }
    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// SIGKILL, as a crash would.
    public func kill() { process.withLock { $0 }?.kill() }

    /// SIGTERM, then SIGKILL after 5 s.
    public func stop() { process.withLock { $0 }?.stop(grace: .seconds(5)) }

    /// Removes its data (a member replaced by a new one of the same name).
    func wipe() throws {
        try? FileManager.default.removeItem(at: dataDirectory)
    }

    /// Cuts its peer traffic (:2380 both ways) while clients still reach it on :2379, or heals
    /// it. Each rule is added or removed only when needed: cutting twice and healing once heals.
    public func isolateFromPeers(_ isolated: Bool) throws {
        let rules = [["INPUT", "-p", "tcp", "--dport", "2380"], ["INPUT", "-p", "tcp", "--sport", "2380"],
                     ["OUTPUT", "-p", "tcp", "--dport", "2380"], ["OUTPUT", "-p", "tcp", "--sport", "2380"]]
        for rule in rules.map({ $0 + ["-j", "DROP"] }) {
            let present = try namespace.run(["iptables", "-C"] + rule).succeeded
            if present != isolated { try namespace.check(["iptables", isolated ? "-I" : "-D"] + rule) }
        }
    }
}
