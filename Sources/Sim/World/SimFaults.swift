import AgentCore

/// The faults in force right now. Membership checks only: nothing here is iterated, so hash
/// order can never leak into a run.
public struct SimFaults: Sendable {
    public struct Link: Hashable, Sendable {
        public var from: Int
        public var to: Int
        public init(from: Int, to: Int) {
            self.from = from
            self.to = to
        }
    }

    public var etcdDown = false
    /// Hosts that cannot reach etcd (nor etcd them).
    public var cutFromEtcd: Set<Int> = []
    /// Underlay links that carry nothing, by direction (a partition is both directions).
    public var blockedLinks: Set<Link> = []
    /// Per datagram on the underlay: probability of loss and of duplication.
    public var loss = 0.0
    public var duplication = 0.0
    /// Extra random delay per datagram, up to this much (reorders datagrams).
    public var jitter: Duration = .zero
    /// Per etcd request: probability that the request or its answer is lost (the client
    /// times out; a lost answer still left its effect in etcd), and extra delay up to this much.
    public var etcdLoss = 0.0
    public var etcdDelay: Duration = .zero

    public init() {}

    public var isClear: Bool {
        !etcdDown && cutFromEtcd.isEmpty && blockedLinks.isEmpty && loss == 0 && duplication == 0 && jitter == .zero
            && etcdLoss == 0 && etcdDelay == .zero
    }
}
