/// The etcd a scenario runs on: how many members, and which API the agents and the
/// scenario's own reads and writes use.
public struct ScenarioEtcd: Sendable, Equatable {
    /// 1: a single etcd; 3 or 5: a cluster, each member its own machine.
    public var members: Int
    /// The agents run `--etcd-api=v2` and the config and leases live in etcd's v2 store (the
    /// walkthrough's API; the lab serves it with `--enable-v2`).
    public var v2: Bool

    public init(members: Int = 1, v2: Bool = false) {
        self.members = members
        self.v2 = v2
    }

    public static let threeMembers = ScenarioEtcd(members: 3)
}
