import Agent
import Foundation

/// One lab scenario as it runs: the lab, the flanneld binary, and what the scenario found.
public final class LabScenarioRun {
    public let lab: Lab
    public let flanneld: String
    private(set) var checks: [LabScenarioReport.Check] = []
    private(set) var notes: [String] = []
    private let progress: (String) -> Void
    static let leasePrefix = "/coreos.com/network/subnets/"

    init(lab: Lab, flanneld: String, progress: @escaping (String) -> Void) {
        self.lab = lab
        self.flanneld = flanneld
        self.progress = progress
    }

    /// A check of the report: the scenario goes on either way, the report says which failed.
    public func expect(_ condition: Bool, _ text: @autoclosure () -> String) {
        let check = LabScenarioReport.Check(passed: condition, text: text())
        checks.append(check)
        progress("  \(check.passed ? "✔" : "✘") \(check.text)")
    }

    /// A figure for the report (an outage's length, a count).
    public func note(_ text: String) {
        notes.append(text)
        progress("  · \(text)")
    }

    public func step(_ text: String) { progress("  → \(text)") }

    public func writeConfig(_ json: String = #"{ "Network": "10.1.0.0/16" }"#) throws {
        try lab.etcdctl(["put", "/coreos.com/network/config", json])
    }

    public func addHosts(_ count: Int, from first: Int = 1) throws -> [LabHost] {
        try (first..<(first + count)).map { try lab.addHost($0) }
    }

    public func startAgent(_ host: LabHost, _ arguments: [String] = []) throws {
        try host.startAgent(binary: flanneld, arguments: arguments)
    }

    public func leaseKey(_ subnet: IPv4Network) -> String {
        "\(Self.leasePrefix)\(subnet.address)-\(subnet.prefixLength)"
    }

    /// `etcdctl get --prefix` of the subnets: key and value lines.
    public func leases() throws -> String {
        try lab.etcdctl(["get", "--prefix", Self.leasePrefix]).stdout
    }

    /// The lease keys whose value names `host`'s address.
    public func leaseKeys(of host: LabHost) throws -> [String] {
        let lines = try leases().split(separator: "\n").map(String.init)
        return stride(from: 0, to: lines.count - 1, by: 2).compactMap { index in
            lines[index + 1].contains("\"PublicIP\":\"\(host.address)\"") ? lines[index] : nil
        }
    }

    /// A revision field of a key (`create_revision`, `mod_revision`), nil when it is absent.
    public func revision(_ field: String, of key: String) throws -> Int? {
        let json = try lab.etcdctl(["get", key, "--write-out=json"]).stdout
        guard let range = json.range(of: "\"\(field)\":") else { return nil }
        return Int(json[range.upperBound...].prefix { $0.isNumber })
    }

    /// etcd's current revision (the header of a read).
    public func currentRevision() throws -> Int {
        let json = try lab.etcdctl(["get", "/coreos.com/network/config", "--write-out=json"]).stdout
        guard let range = json.range(of: "\"revision\":"), let revision = Int(json[range.upperBound...].prefix { $0.isNumber }) else {
            throw LabScenarioFailure("no revision in etcdctl's answer: \(json)")
        }
        return revision
    }

    /// Whether `key` is attached to an etcd lease (has a TTL).
    public func hasTTL(_ key: String) throws -> Bool {
        try lab.etcdctl(["get", key, "--write-out=json"]).stdout.contains("\"lease\":")
    }

    public func ping(_ from: (namespace: Namespace, address: IPv4Address), _ to: (namespace: Namespace, address: IPv4Address),
                     count: Int = 1, wait: Int = 2) throws -> CommandResult {
        try from.namespace.run(["ping", "-c", String(count), "-W", String(wait), to.address.description])
    }

    public func waitForPing(_ from: (namespace: Namespace, address: IPv4Address), _ to: (namespace: Namespace, address: IPv4Address),
                            timeout: Duration = .seconds(15)) throws {
        try Poll.until("a ping \(from.address) → \(to.address) to be answered", timeout: timeout) {
            try ping(from, to, wait: 1).succeeded
        }
    }

    /// How many times `text` is in `host`'s agent log (the log carries every run of the agent).
    public func count(_ text: String, in host: LabHost) -> Int {
        (host.agent?.log.components(separatedBy: text).count ?? 1) - 1
    }

    public func waitForLog(_ host: LabHost, _ text: String, times: Int = 1, timeout: Duration = .seconds(20)) throws {
        try Poll.until("\(host.namespace)'s log to say \"\(text)\"\(times > 1 ? " \(times) times" : "")", timeout: timeout) {
            count(text, in: host) >= times
        }
    }

    /// Lets a scenario's stretch of time pass (an outage, a cut: the story's own length, not
    /// a wait for something), checking that every agent in `running` stays up.
    public func hold(for duration: Duration, _ what: String, running: [LabHost] = []) throws {
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline {
            try LabInterruption.check()
            if let gone = running.first(where: { $0.agent?.isRunning != true }) {
                let log = gone.agent?.log.split(separator: "\n").suffix(5).joined(separator: "\n    ") ?? ""
                throw LabScenarioFailure("\(gone.namespace)'s agent exited (status \(gone.agent?.exitStatus.map(String.init) ?? "-")) during \(what):\n    \(log)")
            }
            Thread.sleep(forTimeInterval: 0.25)
        }
    }
}
