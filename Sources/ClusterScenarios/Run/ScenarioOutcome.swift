/// What a scenario ended with, in terms both worlds can be compared on: which host holds
/// which subnet and which drifted (subnets named A, B, C… in order of first appearance, since
/// the subnets themselves are each world's random pick), and who reaches whom with which TTL.
public struct ScenarioOutcome: Equatable, Sendable {
    public struct Host: Equatable, Sendable, Comparable {
        public var name: String
        public var running: Bool
        /// The subnet's label, nil without subnet.env.
        public var subnet: String?
        /// "B→C" per drift.
        public var drifts: [String]

        public static func < (lhs: Host, rhs: Host) -> Bool { lhs.line < rhs.line }

        var line: String {
            "\(name.isEmpty ? "" : "\(name) ")\(running ? "running" : "stopped"), subnet \(subnet ?? "none")\(drifts.isEmpty ? "" : ", drifted \(drifts.joined(separator: ", "))")"
        }
    }

    public var hosts: [Host]
    /// "h1c1 → h2c1: reply ttl=60", between the first containers of hosts whose agents run.
    public var reachability: [String]

    public init(hosts: [Host], reachability: [String]) {
        self.hosts = hosts
        self.reachability = reachability
    }

    /// The same outcome with hosts told apart only by what they hold.
    public var withoutHostNames: ScenarioOutcome {
        let replies = reachability.map { $0.split(separator: ":", maxSplits: 1).last.map(String.init) ?? $0 }
        let counted = Dictionary(grouping: replies, by: { $0 }).map { "\($1.count) pairs:\($0)" }.sorted()
        return ScenarioOutcome(hosts: hosts.map { Host(name: "", running: $0.running, subnet: $0.subnet.map { _ in "held" },
                                                      drifts: $0.drifts) }.sorted(),
                               reachability: counted)
    }

    public var lines: [String] {
        hosts.map(\.line) + reachability
    }
}
