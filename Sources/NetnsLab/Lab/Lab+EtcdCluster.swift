import Agent
import ClusterScenarios
import Foundation

/// The lab's etcd as a cluster: who leads, and the faults a cluster has (a member killed, cut
/// off from its peers, replaced).
extension Lab {
    public func etcdMember(_ index: Int) throws -> LabEtcdMember {
        guard etcdMembers.indices.contains(index - 1) else {
            throw ScenarioFailure("etcd has members 1…\(etcdMembers.count), not \(index)")
        }
        return etcdMembers[index - 1]
    }

    /// One member's view (`etcdctl endpoint status`): its raft id, the leader it knows, its revision.
    public struct EtcdMemberStatus: Sendable {
        public var member: Int
        public var id: UInt64
        public var leader: UInt64
        public var revision: Int64
        public var isLeader: Bool { id == leader && leader != 0 }
    }

    /// What each running member that answers says of itself.
    public func etcdMemberStatuses() -> [EtcdMemberStatus] {
        etcdMembers.compactMap { member in
            guard member.isRunning,
                  let shown = try? etcdctl(["endpoint", "status", "--write-out=json", "--command-timeout=1s"], endpoints: member.clientURL).stdout,
                  case let .array(entries)? = try? JSONParser.parse(shown), let entry = entries.first,
                  let status = entry.member("Status"), let header = status.member("header") else { return nil }
            return EtcdMemberStatus(member: member.index,
                                    id: Self.unsigned(header.member("member_id")) ?? 0,
                                    leader: Self.unsigned(status.member("leader")) ?? 0,
                                    revision: Int64(header.member("revision")?.integerValue ?? 0))
        }
    }

    /// The member that leads now, as the members that answer agree; nil while none does.
    public func etcdLeader() -> Int? {
        etcdMemberStatuses().first(where: \.isLeader)?.member
    }

    /// Kills member `index` (SIGKILL, as a crash); `startEtcdMember` brings it back on its data.
    public func killEtcdMember(_ index: Int) throws { try etcdMember(index).kill() }

    public func startEtcdMember(_ index: Int) throws {
        let member = try etcdMember(index)
        try member.start(initialCluster: initialCluster)
        try waitForEtcd([member])
    }

    /// Cuts member `index` off from the other members (peer traffic), leaving clients able to
    /// reach it, or heals it.
    public func isolateEtcdMember(_ index: Int, _ isolated: Bool) throws {
        try etcdMember(index).isolateFromPeers(isolated)
    }

    /// Replaces member `index` with a new one of the same name and address, as an operator
    /// replaces a failed machine: `member remove`, its data wiped, `member add`, started to
    /// join the running cluster, and waited for until it answers.
    public func replaceEtcdMember(_ index: Int) throws {
        let member = try etcdMember(index)
        let others = etcdMembers.filter { $0.index != index }.map(\.clientURL).joined(separator: ",")
        if let id = try memberID(named: member.name, endpoints: others) {
            try reconfigure(["member", "remove", id], endpoints: others)
        }
        member.kill()
        try member.wipe()
        try reconfigure(["member", "add", member.name, "--peer-urls=\(member.peerURL)"], endpoints: others)
        try member.start(initialCluster: initialCluster, existing: true)
        try waitForEtcd(etcdMembers.filter(\.isRunning))
    }

    /// A membership change, retried while etcd refuses it as unsafe ("unhealthy cluster": a
    /// member has not been connected long enough for etcd to count it active) or cannot
    /// commit it yet (an election after the leader was removed), as an operator would retry
    /// it. A retry that finds the change made (by the try that timed out) is done.
    private func reconfigure(_ arguments: [String], endpoints: String) throws {
        var refusal = ""
        try Poll.until("etcd to accept `etcdctl \(arguments.joined(separator: " "))`", timeout: .seconds(30), interval: .milliseconds(500)) {
            let command = etcdNamespace.command(["env", "ETCDCTL_API=3", "etcdctl", "--endpoints", endpoints] + arguments)
            let result = try CommandRunner.run(command)
            if result.succeeded { return true }
            refusal = result.stderr
            if refusal.contains("already exists") || refusal.contains("member not found") { return true }
            let transient = ["unhealthy cluster", "deadline exceeded", "no leader", "leader changed", "request timed out"]
            guard transient.contains(where: refusal.contains) else {
                throw ScenarioFailure("`etcdctl \(arguments.joined(separator: " "))` failed: \(refusal.suffix(400))")
            }
            return false
        }
    }

    /// The hex id `etcdctl member list` gives member `name`.
    private func memberID(named name: String, endpoints: String) throws -> String? {
        let shown = try etcdctl(["member", "list", "--write-out=json"], endpoints: endpoints).stdout
        guard case let .array(members)? = try JSONParser.parse(shown).member("members"),
              let id = Self.unsigned(members.first(where: { $0.member("name")?.stringValue == name })?.member("ID")) else { return nil }
        return String(id, radix: 16)
    }

    /// etcd's ids are unsigned 64-bit numbers (beyond `Int`).
    static func unsigned(_ value: JSONValue?) -> UInt64? {
        guard case let .number(text)? = value else { return nil }
        return UInt64(text)
    }
}
