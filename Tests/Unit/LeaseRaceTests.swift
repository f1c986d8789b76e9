import Agent
import Sim
import Testing

/// Several hosts' lease machines racing for subnets in one in-memory etcd. A seeded
/// scheduler interleaves their registry calls (each call is atomic at etcd, as in reality;
/// the race is between one host's listing and its create), and injects failed calls.
@Suite("Allocation race between agents")
struct LeaseRaceTests {
    struct Host {
        var machine: LeaseMachine
        var pending: [LeaseMachine.Action] = []
        var held: HeldLease?
        var failure: LeaseError?
    }

    struct Outcome {
        var held: [HeldLease]
        var failures: [LeaseError]
        var etcd: InMemoryEtcd
    }

    static let layout = EtcdKeyLayout()

    static func race(seed: UInt64, hosts count: Int, config: String, failureRate: Double = 0.1) -> Outcome {
        var random = SeededGenerator(seed: seed)
        var etcd = InMemoryEtcd()
        let plan = try! NetworkConfig.decode(config).ipv4!
        var hosts = (0..<count).map { index in
            Host(machine: LeaseMachine(configuration: .init(
                plan: plan, attributes: LeaseAttributes(publicIP: IPv4Address(192, 0, 2, UInt8(10 + index))))))
        }
        for index in hosts.indices { hosts[index].pending = hosts[index].machine.start() }
        var now = Timestamp.zero
        var steps = 0
        while steps < 10_000 {
            let busy = hosts.indices.filter { !hosts[$0].pending.isEmpty }
            guard !busy.isEmpty else { break }
            steps += 1
            let index = busy[Int.random(in: 0..<busy.count, using: &random)]
            let action = hosts[index].pending.removeFirst()
            now = now + .milliseconds(Int64.random(in: 0...50, using: &random))
            let fails = Double.random(in: 0..<1, using: &random) < failureRate
            var produced: [LeaseMachine.Action] = []
            switch action {
            case .listLeases:
                produced = fails ? hosts[index].machine.operationFailed(now: now)
                    : hosts[index].machine.leasesListed(etcd.listLeases(layout: layout), now: now, using: &random)
            case let .createLease(key, attributes, ttl):
                if fails {
                    produced = hosts[index].machine.operationFailed(now: now)
                } else {
                    let revision = try! etcd.createLease(key, attributes: attributes, ttl: ttl, layout: layout)
                    produced = hosts[index].machine.createCompleted(modRevision: revision, now: now)
                }
            case let .updateLease(key, attributes, ttl, expected):
                let outcome = try! etcd.updateLease(key, attributes: attributes, ttl: ttl, expectedModRevision: expected, layout: layout)
                produced = hosts[index].machine.updateCompleted(outcome, now: now)
            case let .deleteLease(key, expected, _):
                etcd.deleteLease(key, expectedModRevision: expected, layout: layout)
                produced = hosts[index].machine.deleteCompleted(now: now)
            case .scheduleRetry:
                produced = hosts[index].machine.retryDue(now: now)
            case let .leaseAcquired(lease):
                hosts[index].held = lease
            case let .failed(error):
                hosts[index].failure = error
            case .scheduleRenewal, .leaseRenewed, .leaseLost, .subnetDrifted, .ipv6SubnetDrifted:
                break
            }
            hosts[index].pending.append(contentsOf: produced)
        }
        return Outcome(held: hosts.compactMap(\.held), failures: hosts.compactMap(\.failure), etcd: etcd)
    }

    /// No two hosts hold the same subnet, and etcd agrees with each host about its lease.
    static func checkInvariants(_ outcome: Outcome, seed: UInt64) {
        let subnets = outcome.held.map(\.subnet)
        #expect(Set(subnets).count == subnets.count, "duplicate subnet with seed \(seed): \(subnets)")
        let stored = outcome.etcd.listLeases(layout: layout)
        for lease in outcome.held {
            let record = stored.records.first { $0.key == lease.key }
            #expect(record?.attributes.publicIP == lease.attributes.publicIP, "seed \(seed): etcd disagrees about \(lease.key)")
        }
        #expect(stored.records.count == outcome.held.count, "seed \(seed): leases in etcd \(stored.records.map(\.key)) vs held \(subnets)")
    }

    @Test(arguments: 0..<500)
    func twoAgentsNeverShareASubnet(seed: Int) {
        // Only four subnets, every agent picks at random among them: races are frequent.
        let outcome = Self.race(seed: UInt64(seed), hosts: 2,
                                config: #"{"Network":"10.1.0.0/16","SubnetMin":"10.1.1.0","SubnetMax":"10.1.4.0"}"#)
        #expect(outcome.held.count == 2, "seed \(seed): \(outcome.failures)")
        Self.checkInvariants(outcome, seed: UInt64(seed))
    }

    @Test(arguments: 0..<200)
    func moreAgentsThanSubnetsGetNetworkFullNeverDuplicates(seed: Int) {
        let outcome = Self.race(seed: UInt64(seed), hosts: 6,
                                config: #"{"Network":"10.1.0.0/16","SubnetMin":"10.1.1.0","SubnetMax":"10.1.4.0"}"#)
        #expect(outcome.held.count == 4, "seed \(seed)")
        #expect(outcome.failures.count == 2, "seed \(seed)")
        for failure in outcome.failures {
            guard case .networkFull = failure else {
                Issue.record("seed \(seed): expected network full, got \(failure)")
                continue
            }
        }
        Self.checkInvariants(outcome, seed: UInt64(seed))
    }

    @Test func sameSeedSameOutcome() {
        let config = #"{"Network":"10.1.0.0/16","SubnetMin":"10.1.1.0","SubnetMax":"10.1.8.0"}"#
        for seed in UInt64(0)..<20 {
            let first = Self.race(seed: seed, hosts: 5, config: config)
            let second = Self.race(seed: seed, hosts: 5, config: config)
            #expect(first.held == second.held)
            #expect(first.etcd.revision == second.etcd.revision)
        }
    }
}
