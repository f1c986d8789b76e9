import AgentCore

/// Watches a cluster through an etcd fault and judges it afterwards, the same way for every
/// fault: the agents' subnets every second (never two alike, never changed), a container ping
/// across the whole time (the data path does not depend on etcd), the log lines written; and
/// once etcd serves again, that every agent renewed, no lease was re-created, and a host that
/// joined during the fault is seen by every agent exactly once.
public final class EtcdFaultObserver {
    private let run: ScenarioRun
    private var harness: any ClusterHarness { run.harness }
    public let agents: [ClusterHost]
    public let subnets: [IPv4Network]
    private let created: [Int64]
    private let pings: PingSeries
    private let pingInterval: Duration
    private let linesBefore: [Int]
    private var elapsed: Duration = .zero
    private var subnetChecks = 0
    private var subnetProblems: [String] = []

    /// Starts watching `agents` (running, each with a lease) and pinging `from` → `to`.
    public init(_ run: ScenarioRun, agents: [ClusterHost], pinging from: ClusterContainer, _ to: ClusterContainer,
                interval: Duration = .milliseconds(250)) throws {
        self.run = run
        self.agents = agents
        let harness = run.harness
        subnets = try agents.map { try run.waitForSubnet($0) }
        let leases = try harness.leases()
        created = try subnets.map { subnet in
            guard let lease = leases.first(where: { $0.subnet == subnet }) else { throw ScenarioFailure("\(subnet)'s lease is not in etcd") }
            return lease.createRevision
        }
        linesBefore = try harness.capabilities.contains(.logFiles) ? agents.map { try harness.logLineCount(on: $0) } : []
        pingInterval = interval
        pings = try harness.startPings(from: from, to: to.address, interval: interval)
    }

    /// Lets `duration` of the fault pass, checking the agents' subnet.env every second.
    public func pass(_ duration: Duration, _ what: String) throws {
        var left = duration
        while left > .zero {
            let slice = min(left, .seconds(1))
            try harness.pass(slice, what)
            left -= slice
            elapsed += slice
            try checkSubnets()
        }
    }

    private func checkSubnets() throws {
        subnetChecks += 1
        let held = try agents.map { try harness.subnetFile(of: $0)?.subnet }
        for (host, (now, before)) in zip(agents, zip(held, subnets)) where now != before {
            subnetProblems.append("\(host) held \(now.map { "\($0)" } ?? "nothing") instead of \(before) after \(elapsed)")
        }
        let present = held.compactMap { $0 }
        if Set(present).count != present.count {
            subnetProblems.append("two agents held the same subnet after \(elapsed): \(present.map(\.description))")
        }
    }

    /// The judgement, once etcd serves again. `renewedAfter`: etcd's revision before which no
    /// renewal counts (the fault's start, or its end when nothing could be written during it).
    /// `newcomer`: a host whose agent started during the fault.
    public func finish(renewedAfter revision: Int64, newcomer: ClusterHost, ttl: Duration, maximumLogLines: Int) throws {
        let outcome = try harness.stopPings(pings)
        run.expect(subnetProblems.isEmpty && subnetChecks > 0,
                   "no agent changed subnet and no two held the same one at any of \(subnetChecks) checks, a second apart"
                       + (subnetProblems.isEmpty ? "" : ": \(subnetProblems.prefix(3).joined(separator: "; "))"))
        run.expect(outcome.lost == 0 && outcome.transmitted >= Int(elapsed / pingInterval) - 5,
                   "container pings kept flowing through the fault: \(outcome.received) of \(outcome.transmitted) answered")
        run.expect(agents.allSatisfy { harness.agentIsRunning(on: $0) }, "every agent kept running")

        try harness.waitUntil("every agent to renew its lease", timeout: ttl + .seconds(15)) {
            let leases = try harness.leases()
            return subnets.allSatisfy { subnet in leases.contains { $0.subnet == subnet && $0.modRevision > revision } }
        }
        run.expect(true, "renewals resumed: every agent rewrote its lease after revision \(revision)")
        let leases = try harness.leases()
        let recreated = zip(subnets, created).filter { subnet, created in leases.first { $0.subnet == subnet }?.createRevision != created }
        run.expect(recreated.isEmpty, "no lease expired or was re-created (the same create revisions)"
                       + (recreated.isEmpty ? "" : ": \(recreated.map { "\($0.0)" })"))
        run.expect(try agents.allSatisfy { try harness.drifts(of: $0).isEmpty && harness.logCount("lost lease", on: $0) == 0 },
                   "no agent lost its lease or drifted")

        let joined = try run.waitForSubnet(newcomer, timeout: .seconds(60))
        run.expect(!subnets.contains(joined), "\(newcomer) got a subnet of its own, \(joined)")
        try harness.waitUntil("every agent to know \(newcomer)'s \(joined), and \(newcomer) every other", timeout: .seconds(30)) {
            try agents.allSatisfy { try harness.knowsPeer(joined, on: $0) }
                && subnets.allSatisfy { try harness.knowsPeer($0, on: newcomer) }
        }
        let newcomerEvents = try agents.map { try harness.peerEvents(for: joined, on: $0) }
        run.expect(newcomerEvents.allSatisfy { $0 == [.added] },
                   "every agent added \(newcomer)'s lease exactly once (its watch resumed without missing or repeating events): \(newcomerEvents.map { $0.map(\.rawValue).joined(separator: ",") })")
        let churn = try agents.flatMap { host in try subnets.filter { try harness.peerEvents(for: $0, on: host).contains(.removed) } }
        run.expect(churn.isEmpty, "no agent removed a peer during the fault" + (churn.isEmpty ? "" : ": \(churn.map(\.description))"))

        try run.expect(needs: .logFiles, {
            let written = try zip(agents, linesBefore).map { try harness.logLineCount(on: $0) - $1 }
            run.note("log lines written from the fault's start to the end: \(zip(agents, written).map { "\($0) \($1)" }.joined(separator: ", "))")
            return written.allSatisfy { $0 <= maximumLogLines }
        }, "logs stay bounded: at most \(maximumLogLines) lines per agent")
    }
}
