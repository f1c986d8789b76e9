/// What the control-plane bench measures of one cluster (lab or simulator, same setup): how
/// fast a cold cluster converges and a newcomer becomes reachable, what etcd is asked, what
/// the agents cost at rest, and how long renewals take to resume after etcd's leader dies.
public struct ControlPlaneFigures: Sendable {
    public var hosts: Int
    /// From the first agent's start until every agent has every other as a peer.
    public var coldStartConvergence: Duration
    /// etcd requests (unary calls) from the first start to convergence.
    public var coldStartRequests: Int
    /// etcd requests over the rest period, and its length.
    public var restRequests: Int
    public var rest: Duration
    /// Per join: from the newcomer's agent start until every other agent has its route or
    /// peer entry; and from the newcomer holding its lease (its "acquired lease", a round trip
    /// after the write, so the others may be quicker: then zero).
    public var joinsFromLease: [Duration] = []
    public var joinsFromStart: [Duration] = []
    /// From the leader's SIGKILL until every agent has renewed (rewritten its lease); nil: not
    /// all did within the bench's limit.
    public var renewedAfterLeaderKill: Duration?
    /// Renewal attempts that failed (and were retried) from the kill until every agent renewed.
    public var failedRenewalsAfterLeaderKill = 0
    /// The agents at rest (lab only): resident memory, and CPU as a share of one core.
    public var residentKilobytes: [Int] = []
    public var cpuShares: [Double] = []

    public init(hosts: Int, coldStartConvergence: Duration, coldStartRequests: Int, restRequests: Int, rest: Duration) {
        self.hosts = hosts
        self.coldStartConvergence = coldStartConvergence
        self.coldStartRequests = coldStartRequests
        self.restRequests = restRequests
        self.rest = rest
    }

    public var coldStartRequestsPerSecond: Double {
        Double(coldStartRequests) / max(coldStartConvergence.inSeconds, 0.001)
    }

    public var restRequestsPerHostHour: Double {
        Double(restRequests) / Double(max(1, hosts)) / max(rest.inSeconds, 0.001) * 3600
    }

    /// The `fraction` quantile (nearest rank) of `values`.
    public static func quantile(_ values: [Duration], _ fraction: Double) -> Duration? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }
}

extension Duration {
    /// Seconds as a Double (figures and ratios).
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
