import Agent
import Sim
import Testing

/// Every transition of the lease machine, as tables of (event → expected actions).
@Suite("Lease machine transitions")
struct LeaseMachineTests {
    enum Event: Sendable {
        case start
        case listed(LeaseListing)
        case created(Int64?)
        case updated(LeaseUpdateOutcome)
        case deleted
        case failed
        case retryDue
        case renewalDue
        case ownRemoved
        case overwritten(by: String)
    }

    struct Step: Sendable {
        var at: Timestamp
        var event: Event
        var expect: [LeaseMachine.Action]
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var previousSubnet: String? = nil
        var ttl: Duration = .seconds(86_400)
        var plan: SubnetPlan<IPv4Address> = Fixtures.plan
        var steps: [Step]
        var testDescription: String { name }
    }

    static let me = LeaseAttributes(publicIP: Fixtures.ip("192.0.2.10"))
    static let day = Duration.seconds(86_400)
    static func t(_ seconds: Int64) -> Timestamp { .seconds(seconds) }
    static func held(_ subnet: String, expires: Timestamp?, rev: Int64) -> HeldLease {
        HeldLease(key: Fixtures.key(subnet), attributes: me, expiry: expires.map { .at($0) } ?? .reservation, modRevision: rev)
    }
    static func step(_ at: Int64, _ event: Event, _ expect: [LeaseMachine.Action]) -> Step {
        Step(at: t(at), event: event, expect: expect)
    }

    static let other = Fixtures.record("10.1.1.0/24", "192.0.2.11")
    static let create2 = LeaseMachine.Action.createLease(Fixtures.key("10.1.2.0/24"), me, ttl: day)
    static let renewAt = t(82_800) // 24 h − 1 h

    static let cases: [Case] = [
        Case(name: "fresh host takes the first free subnet and schedules renewal at TTL − margin", steps: [
            step(0, .start, [.listLeases]),
            step(0, .listed(Fixtures.listing(other)), [create2]),
            step(0, .created(11), [.leaseAcquired(held("10.1.2.0/24", expires: t(86_400), rev: 11)), .scheduleRenewal(at: renewAt)]),
        ]),
        Case(name: "own fitting lease is reused with a fresh TTL", steps: [
            step(0, .start, [.listLeases]),
            step(0, .listed(Fixtures.listing(other, Fixtures.record("10.1.9.0/24", "192.0.2.10", modRevision: 7))),
                 [.updateLease(Fixtures.key("10.1.9.0/24"), me, ttl: day, expectedModRevision: 7)]),
            step(1, .updated(.updated(modRevision: 12)),
                 [.leaseAcquired(held("10.1.9.0/24", expires: t(86_401), rev: 12)), .scheduleRenewal(at: t(82_801))]),
        ]),
        Case(name: "own lease that no longer fits the config is deleted, then a new one taken",
             plan: Fixtures.plan(#"{"Network":"10.1.0.0/16","SubnetMin":"10.1.2.0","SubnetMax":"10.1.10.0"}"#), steps: [
            step(0, .start, [.listLeases]),
            step(0, .listed(Fixtures.listing(Fixtures.record("10.1.50.0/24", "192.0.2.10"))),
                 [.deleteLease(Fixtures.key("10.1.50.0/24"), expectedModRevision: 5, reason: "it does not fit the network config (10.1.0.0/16, /24, 10.1.2.0–10.1.10.0)")]),
            step(0, .deleted, [.listLeases]),
            step(0, .listed(Fixtures.listing()), [create2]),
        ]),
        Case(name: "subnet file's subnet is asked for first when free", previousSubnet: "10.1.82.0/24", steps: [
            step(0, .start, [.listLeases]),
            step(0, .listed(Fixtures.listing(other)), [.createLease(Fixtures.key("10.1.82.0/24"), me, ttl: day)]),
            step(0, .created(11), [.leaseAcquired(held("10.1.82.0/24", expires: t(86_400), rev: 11)), .scheduleRenewal(at: renewAt)]),
        ]),
        Case(name: "subnet file's subnet taken by another host: new subnet, drift reported", previousSubnet: "10.1.1.0/24", steps: [
            step(0, .start, [.listLeases]),
            step(0, .listed(Fixtures.listing(other)), [create2]),
            step(0, .created(11), [.leaseAcquired(held("10.1.2.0/24", expires: t(86_400), rev: 11)),
                                   .subnetDrifted(from: Fixtures.net("10.1.1.0/24"), to: Fixtures.net("10.1.2.0/24")),
                                   .scheduleRenewal(at: renewAt)]),
        ]),
        Case(name: "subnet file's subnet outside the config is not asked for", previousSubnet: "10.2.5.0/24", steps: [
            step(0, .start, [.listLeases]),
            step(0, .listed(Fixtures.listing(other)), [create2]),
        ]),
        Case(name: "a key whose value is garbage still occupies its subnet", previousSubnet: "10.1.2.0/24", steps: [
            step(0, .start, [.listLeases]),
            step(0, .listed(LeaseListing(records: [other], malformed: [
                MalformedLease(key: "/coreos.com/network/subnets/10.1.2.0-24", reason: "invalid JSON", subnet: Fixtures.key("10.1.2.0/24")),
            ], revision: 10)), [.createLease(Fixtures.key("10.1.3.0/24"), me, ttl: day)]),
        ]),
        Case(name: "a lost create race re-lists and tries again", steps: [
            step(0, .start, [.listLeases]),
            step(0, .listed(Fixtures.listing(other)), [create2]),
            step(0, .created(nil), [.listLeases]),
            step(0, .listed(Fixtures.listing(other, Fixtures.record("10.1.2.0/24", "192.0.2.12"))),
                 [.createLease(Fixtures.key("10.1.3.0/24"), me, ttl: day)]),
            step(0, .created(13), [.leaseAcquired(held("10.1.3.0/24", expires: t(86_400), rev: 13)), .scheduleRenewal(at: renewAt)]),
        ]),
        Case(name: "a reservation with our value is held as is: no write, no renewal", steps: [
            step(0, .start, [.listLeases]),
            step(0, .listed(Fixtures.listing(Fixtures.record("10.1.7.0/24", "192.0.2.10", reservation: true, modRevision: 3))),
                 [.leaseAcquired(held("10.1.7.0/24", expires: nil, rev: 3))]),
            step(999_999, .renewalDue, []),
        ]),
        Case(name: "a reservation with other backend data is rewritten without a TTL", steps: [
            step(0, .start, [.listLeases]),
            step(0, .listed(Fixtures.listing(LeaseRecord(
                key: Fixtures.key("10.1.7.0/24"),
                attributes: LeaseAttributes(publicIP: Fixtures.ip("192.0.2.10"), backendType: "host-gw"),
                isReservation: true, modRevision: 3))),
                 [.updateLease(Fixtures.key("10.1.7.0/24"), me, ttl: nil, expectedModRevision: 3)]),
            step(0, .updated(.updated(modRevision: 9)), [.leaseAcquired(held("10.1.7.0/24", expires: nil, rev: 9))]),
            step(999_999, .renewalDue, []),
        ]),
        Case(name: "renewal waits for its time, then rewrites with a fresh TTL", steps: [
            step(0, .start, [.listLeases]),
            step(0, .listed(Fixtures.listing(other)), [create2]),
            step(0, .created(11), [.leaseAcquired(held("10.1.2.0/24", expires: t(86_400), rev: 11)), .scheduleRenewal(at: renewAt)]),
            step(82_000, .renewalDue, []),
            step(82_800, .renewalDue, [.updateLease(Fixtures.key("10.1.2.0/24"), me, ttl: day, expectedModRevision: 11)]),
            step(82_801, .updated(.updated(modRevision: 40)),
                 [.leaseRenewed(held("10.1.2.0/24", expires: t(82_801 + 86_400), rev: 40)), .scheduleRenewal(at: t(82_801 + 82_800))]),
        ]),
        Case(name: "a failed renewal keeps the lease and retries with backoff", steps: [
            step(0, .start, [.listLeases]),
            step(0, .listed(Fixtures.listing(other)), [create2]),
            step(0, .created(11), [.leaseAcquired(held("10.1.2.0/24", expires: t(86_400), rev: 11)), .scheduleRenewal(at: renewAt)]),
            step(82_800, .renewalDue, [.updateLease(Fixtures.key("10.1.2.0/24"), me, ttl: day, expectedModRevision: 11)]),
            Step(at: t(82_800), event: .failed, expect: [.scheduleRenewal(at: t(82_800) + .milliseconds(500))]),
            Step(at: t(82_800) + .milliseconds(500), event: .renewalDue,
                 expect: [.updateLease(Fixtures.key("10.1.2.0/24"), me, ttl: day, expectedModRevision: 11)]),
            Step(at: t(82_801), event: .failed, expect: [.scheduleRenewal(at: t(82_802))]),
        ]),
        Case(name: "renewal finds our key gone: the same subnet is taken back, no drift", steps: [
            step(0, .start, [.listLeases]),
            step(0, .listed(Fixtures.listing(other)), [create2]),
            step(0, .created(11), [.leaseAcquired(held("10.1.2.0/24", expires: t(86_400), rev: 11)), .scheduleRenewal(at: renewAt)]),
            step(82_800, .renewalDue, [.updateLease(Fixtures.key("10.1.2.0/24"), me, ttl: day, expectedModRevision: 11)]),
            step(82_800, .updated(.missing), [create2]),
            step(82_800, .created(50), [.leaseAcquired(held("10.1.2.0/24", expires: t(82_800 + 86_400), rev: 50)),
                                        .scheduleRenewal(at: t(82_800 + 82_800))]),
        ]),
        Case(name: "our key gone and retaken by another host: new subnet, drift reported", steps: [
            step(0, .start, [.listLeases]),
            step(0, .listed(Fixtures.listing(other)), [create2]),
            step(0, .created(11), [.leaseAcquired(held("10.1.2.0/24", expires: t(86_400), rev: 11)), .scheduleRenewal(at: renewAt)]),
            step(100, .ownRemoved, [create2]),
            step(100, .created(nil), [.leaseLost(Fixtures.key("10.1.2.0/24"), heldBy: nil), .listLeases]),
            step(100, .listed(Fixtures.listing(other, Fixtures.record("10.1.2.0/24", "192.0.2.12"))),
                 [.createLease(Fixtures.key("10.1.3.0/24"), me, ttl: day)]),
            step(100, .created(60), [.leaseAcquired(held("10.1.3.0/24", expires: t(86_500), rev: 60)),
                                     .subnetDrifted(from: Fixtures.net("10.1.2.0/24"), to: Fixtures.net("10.1.3.0/24")),
                                     .scheduleRenewal(at: t(82_900))]),
        ]),
        Case(name: "renewal finds another host's value: lost, re-acquired, drift reported", steps: [
            step(0, .start, [.listLeases]),
            step(0, .listed(Fixtures.listing(other)), [create2]),
            step(0, .created(11), [.leaseAcquired(held("10.1.2.0/24", expires: t(86_400), rev: 11)), .scheduleRenewal(at: renewAt)]),
            step(82_800, .renewalDue, [.updateLease(Fixtures.key("10.1.2.0/24"), me, ttl: day, expectedModRevision: 11)]),
            step(82_800, .updated(.heldByOther(LeaseAttributes(publicIP: Fixtures.ip("192.0.2.99")))),
                 [.leaseLost(Fixtures.key("10.1.2.0/24"), heldBy: "192.0.2.99"), .listLeases]),
        ]),
        Case(name: "another host's value written under our key while holding: lost, re-listed", steps: [
            step(0, .start, [.listLeases]),
            step(0, .listed(Fixtures.listing(other)), [create2]),
            step(0, .created(11), [.leaseAcquired(held("10.1.2.0/24", expires: t(86_400), rev: 11)), .scheduleRenewal(at: renewAt)]),
            step(5, .overwritten(by: "192.0.2.10"), []),
            step(5, .overwritten(by: "192.0.2.77"), [.leaseLost(Fixtures.key("10.1.2.0/24"), heldBy: "192.0.2.77"), .listLeases]),
        ]),
        Case(name: "registry failures while acquiring retry with doubling backoff", steps: [
            step(0, .start, [.listLeases]),
            step(0, .failed, [.scheduleRetry(after: .milliseconds(500))]),
            step(0, .renewalDue, []),
            step(1, .retryDue, [.listLeases]),
            step(1, .failed, [.scheduleRetry(after: .seconds(1))]),
            step(2, .retryDue, [.listLeases]),
            step(2, .failed, [.scheduleRetry(after: .seconds(2))]),
            step(4, .retryDue, [.listLeases]),
            step(4, .listed(Fixtures.listing(other)), [create2]),
        ]),
        Case(name: "short TTLs renew at half the TTL at the latest", ttl: .seconds(8), steps: [
            step(0, .start, [.listLeases]),
            step(0, .listed(Fixtures.listing(other)), [.createLease(Fixtures.key("10.1.2.0/24"), me, ttl: .seconds(8))]),
            step(0, .created(11), [.leaseAcquired(held("10.1.2.0/24", expires: t(8), rev: 11)), .scheduleRenewal(at: t(4))]),
        ]),
        Case(name: "events that do not apply in a state are ignored", steps: [
            step(0, .created(5), []),
            step(0, .updated(.missing), []),
            step(0, .deleted, []),
            step(0, .retryDue, []),
            step(0, .ownRemoved, []),
            step(0, .start, [.listLeases]),
            step(0, .start, []),
            step(0, .created(5), []),
        ]),
    ]

    @Test(arguments: cases)
    func transitions(_ testCase: Case) {
        var machine = LeaseMachine(configuration: .init(
            plan: testCase.plan, attributes: Self.me, ttl: testCase.ttl,
            previousSubnet: testCase.previousSubnet.map(Fixtures.net), candidateLimit: 1))
        var generator = SeededGenerator(seed: 0)
        for (index, step) in testCase.steps.enumerated() {
            let actions: [LeaseMachine.Action]
            switch step.event {
            case .start: actions = machine.start()
            case let .listed(listing): actions = machine.leasesListed(listing, now: step.at, using: &generator)
            case let .created(revision): actions = machine.createCompleted(modRevision: revision, now: step.at)
            case let .updated(outcome): actions = machine.updateCompleted(outcome, now: step.at)
            case .deleted: actions = machine.deleteCompleted(now: step.at)
            case .failed: actions = machine.operationFailed(now: step.at)
            case .retryDue: actions = machine.retryDue(now: step.at)
            case .renewalDue: actions = machine.renewalDue(now: step.at)
            case .ownRemoved: actions = machine.ownLeaseRemoved(now: step.at)
            case let .overwritten(publicIP):
                actions = machine.ownLeaseOverwritten(by: LeaseAttributes(publicIP: Fixtures.ip(publicIP)), now: step.at)
            }
            #expect(actions == step.expect, "step \(index + 1) (\(step.event))")
        }
    }

    @Test func tooManyLostRacesGiveUpWithAClearError() {
        var machine = LeaseMachine(configuration: .init(plan: Fixtures.plan, attributes: Self.me, maximumConflicts: 3, candidateLimit: 1))
        var generator = SeededGenerator(seed: 0)
        _ = machine.start()
        var last: [LeaseMachine.Action] = []
        for _ in 0..<3 {
            _ = machine.leasesListed(Fixtures.listing(), now: .zero, using: &generator)
            last = machine.createCompleted(modRevision: nil, now: .zero)
        }
        #expect(last == [.failed(.tooManyConflicts(attempts: 3))])
        #expect(LeaseError.tooManyConflicts(attempts: 3).description.contains("3 times in a row"))
        #expect(machine.isFailed)
    }

    /// Hosts that take their leases at the same instant (a cluster brought up at once) renew
    /// apart: each up to a fifth of the margin early, drawn anew each time.
    @Test func renewalsOfHostsStartedTogetherAreSpread() {
        var generator = SeededGenerator(seed: 0)
        var renewals: [Timestamp] = []
        for seed: UInt64 in 1...20 {
            var configuration = LeaseMachine.Configuration(plan: Fixtures.plan, attributes: Self.me, ttl: .seconds(20), candidateLimit: 1)
            configuration.jitter = Jitter(seed: seed)
            var machine = LeaseMachine(configuration: configuration)
            _ = machine.start()
            _ = machine.leasesListed(Fixtures.listing(), now: .zero, using: &generator)
            let actions = machine.createCompleted(modRevision: 11, now: .zero)
            guard case let .scheduleRenewal(at)? = actions.last else {
                Issue.record("no renewal scheduled: \(actions)")
                return
            }
            // TTL 20 s, margin 10 s (half the TTL): renewal 8…10 s after the write.
            #expect(at >= .seconds(8) && at <= .seconds(10), "\(at)")
            renewals.append(at)
        }
        #expect(Set(renewals).count == 20, "20 hosts, 20 different renewal instants")
        let spread = renewals.max()! - renewals.min()!
        #expect(spread > .seconds(1), "spread over \(spread)")
    }

    /// etcd down when a short lease is due: the retries back off, but the last comes just
    /// before the lease would expire, not after it.
    @Test func failedRenewalsRetryBeforeTheLeaseExpires() {
        var generator = SeededGenerator(seed: 0)
        var machine = LeaseMachine(configuration: .init(plan: Fixtures.plan, attributes: Self.me, ttl: .seconds(20), candidateLimit: 1))
        _ = machine.start()
        _ = machine.leasesListed(Fixtures.listing(), now: .zero, using: &generator)
        _ = machine.createCompleted(modRevision: 11, now: .zero)
        var now = Timestamp.seconds(10)
        var retries: [Timestamp] = []
        for _ in 0..<6 {
            _ = machine.renewalDue(now: now)
            guard case let .scheduleRenewal(at)? = machine.operationFailed(now: now).last else {
                Issue.record("no retry scheduled")
                return
            }
            retries.append(at)
            now = at
        }
        // 10 + 0.5, + 1, + 2, + 4, then 17.5 + 8 would pass the expiry at 20 s: 19.5 instead.
        let expected: [Int64] = [10_500, 11_500, 13_500, 17_500, 19_500]
        #expect(Array(retries.prefix(5)) == expected.map { Timestamp(nanoseconds: $0 * 1_000_000) }, "\(retries)")
        #expect(retries[5] > .seconds(20), "past the expiry the backoff goes on: \(retries[5])")
    }
}
