import Agent
import Sim
import Testing

@Suite("Subnet allocation")
struct AllocationTests {
    @Test func firstFreeSubnetsSkipTakenOnes() {
        let plan = Fixtures.plan
        let free = plan.freeSubnets(excluding: [Fixtures.net("10.1.1.0/24"), Fixtures.net("10.1.3.0/24")], limit: 3)
        #expect(free == [Fixtures.net("10.1.2.0/24"), Fixtures.net("10.1.4.0/24"), Fixtures.net("10.1.5.0/24")])
    }

    @Test func aWiderTakenNetworkBlocksEverySubnetInside() {
        let plan = Fixtures.plan
        let free = plan.freeSubnets(excluding: [Fixtures.net("10.1.0.0/20"), Fixtures.net("10.1.17.0/24")], limit: 2)
        #expect(free == [Fixtures.net("10.1.16.0/24"), Fixtures.net("10.1.18.0/24")])
    }

    @Test func candidatesStopAtSubnetMaxAndTheLimit() {
        let plan = Fixtures.plan(#"{"Network":"10.1.0.0/16","SubnetMin":"10.1.250.0"}"#)
        #expect(plan.freeSubnets(excluding: [], limit: 100).count == 6)
        #expect(Fixtures.plan.freeSubnets(excluding: [], limit: 100).count == 100)
    }

    @Test func randomPickIsAmongTheFirstHundredFreeAndSeedDetermined() throws {
        var seen = Set<IPv4Network>()
        for seed in UInt64(0)..<300 {
            var machine = LeaseMachine(configuration: .init(plan: Fixtures.plan, attributes: LeaseAttributes(publicIP: Fixtures.ip("192.0.2.10"))))
            _ = machine.start()
            var generator = SeededGenerator(seed: seed)
            let actions = machine.leasesListed(Fixtures.listing(Fixtures.record("10.1.1.0/24", "192.0.2.11")), now: .zero, using: &generator)
            guard case let .createLease(key, _, _) = actions.first else {
                Issue.record("expected a create, got \(actions)")
                return
            }
            let subnet = try #require(key.ipv4)
            #expect(subnet.address >= Fixtures.ip("10.1.2.0") && subnet.address <= Fixtures.ip("10.1.101.0"))
            seen.insert(subnet)

            var again = LeaseMachine(configuration: machine.configuration)
            _ = again.start()
            var sameSeed = SeededGenerator(seed: seed)
            #expect(again.leasesListed(Fixtures.listing(Fixtures.record("10.1.1.0/24", "192.0.2.11")), now: .zero, using: &sameSeed) == actions)
        }
        // Spread over the candidates, not stuck on the first.
        #expect(seen.count > 80)
    }

    @Test func fullNetworkNamesNetworkLengthAndLeaseCount() {
        let plan = Fixtures.plan(#"{"Network":"10.1.0.0/16","SubnetMin":"10.1.254.0","SubnetMax":"10.1.255.0"}"#)
        var machine = LeaseMachine(configuration: .init(plan: plan, attributes: LeaseAttributes(publicIP: Fixtures.ip("192.0.2.10"))))
        _ = machine.start()
        var generator = SeededGenerator(seed: 1)
        let actions = machine.leasesListed(
            Fixtures.listing(Fixtures.record("10.1.254.0/24", "192.0.2.1"), Fixtures.record("10.1.255.0/24", "192.0.2.2"),
                             Fixtures.record("10.1.7.0/24", "192.0.2.3")),
            now: .zero, using: &generator)
        guard case let .failed(error) = actions.first else {
            Issue.record("expected failure, got \(actions)")
            return
        }
        #expect(machine.isFailed)
        #expect(error.description.contains("network 10.1.0.0/16 is full"))
        #expect(error.description.contains("/24"))
        #expect(error.description.contains("3 leases exist"))
        #expect(error.description.contains("2 subnets"))
    }
}
