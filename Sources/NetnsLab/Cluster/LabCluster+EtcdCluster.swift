import Agent
import ClusterScenarios
import Foundation

/// The lab's etcd cluster for the scenarios, and the v2 store's leases as `etcdctl` (v2) shows them.
extension LabCluster {
    public func etcdLeader() throws -> Int? { lab.etcdLeader() }
    public func killEtcdMember(_ member: Int) throws { try lab.killEtcdMember(member) }
    public func startEtcdMember(_ member: Int) throws { try lab.startEtcdMember(member) }
    public func isolateEtcdMember(_ member: Int, _ isolated: Bool) throws { try lab.isolateEtcdMember(member, isolated) }
    public func replaceEtcdMember(_ member: Int) throws { try lab.replaceEtcdMember(member) }

    /// From the current run's log: "peer added: 10.1.45.0/24 via 192.0.2.12 (vxlan)", "peer
    /// changed: 10.1.45.0/24 via … → …", "peer removed: 10.1.45.0/24 via …".
    public func peerEvents(for subnet: IPv4Network, on host: ClusterHost) throws -> [PeerEvent] {
        try lines(of: host).compactMap { line in
            for event in [PeerEvent.added, .changed, .removed] where line.contains("peer \(event.rawValue): \(subnet) via") {
                return event
            }
            return nil
        }
    }

    /// `etcdctl -o extended get` of one v2 key: its value, created and modified index and TTL.
    private func v2Node(_ key: String) throws -> (value: String, created: Int64, modified: Int64, ttl: Int, index: Int64)? {
        let shown = try CommandRunner.run(lab.etcdctlV2Command(["-o", "extended", "get", key]))
        guard shown.succeeded else { return nil }
        var fields: [String: String] = [:]
        let (head, value) = shown.stdout.split(separator: "\n\n", maxSplits: 1, omittingEmptySubsequences: false)
            .map(String.init).splitFirst()
        for line in head.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (value.trimmingCharacters(in: .newlines), Int64(fields["Created-Index"] ?? "") ?? 0,
                Int64(fields["Modified-Index"] ?? "") ?? 0, Int(fields["TTL"] ?? "") ?? 0, Int64(fields["Index"] ?? "") ?? 0)
    }

    /// The leases in the v2 store (`etcdctl ls`, then each key).
    func v2Leases() throws -> [ClusterLease] {
        let listing = try CommandRunner.run(lab.etcdctlV2Command(["ls", Self.prefix + "subnets"]))
        guard listing.succeeded else { return [] }
        return try listing.stdout.split(separator: "\n").sorted().compactMap { line -> ClusterLease? in
            let key = String(line)
            guard let slash = key.lastIndex(of: "/"), let subnetKey = try? SubnetKey(parsing: String(key[key.index(after: slash)...])),
                  let subnet = subnetKey.ipv4, let node = try v2Node(key) else { return nil }
            return ClusterLease(subnet: subnet, attributes: try? LeaseAttributes.decode(node.value), hasTTL: node.ttl != 0,
                                createRevision: node.created, modRevision: node.modified)
        }
    }

    /// etcd's index (the v2 store's revision), from the answer for the config key.
    func v2Index() throws -> Int64 {
        guard let node = try v2Node(Self.prefix + "config") else { throw ScenarioFailure("no \(Self.prefix)config in etcd's v2 store") }
        return node.index
    }
}

extension Array where Element == String {
    /// The first element and the rest joined again: a header and a body split at the first blank line.
    fileprivate func splitFirst() -> (String, String) {
        (first ?? "", dropFirst().joined(separator: "\n\n"))
    }
}
