import AgentCore
import Sim
import Testing

/// Dual-stack leases (`EnableIPv6`): one key carries one subnet of each family, the IPv6 half
/// is asked for and kept like the IPv4 one, and the agent says clearly when it cannot carry IPv6.
@Suite("Dual-stack leases")
struct DualStackLeaseTests {
    static let config = try! NetworkConfig.decode(#"{ "Network": "10.1.0.0/16", "EnableIPv6": true, "IPv6Network": "fd00:1::/56" }"#)
    static let plan = config.ipv4!
    static let ipv6Plan = config.ipv6!
    static let me = LeaseAttributes(publicIP: Fixtures.ip("192.0.2.10"), publicIPv6: IPv6Address("2001:db8::10"))
    static let day = Duration.seconds(86_400)

    static func v6(_ text: String) -> IPv6Network { IPv6Network(text)! }
    static func key(_ ipv4: String, _ ipv6: String?) -> SubnetKey { SubnetKey(Fixtures.net(ipv4), ipv6: ipv6.map(v6)) }
    static func record(_ key: SubnetKey, _ publicIP: String, modRevision: Int64 = 5) -> LeaseRecord {
        LeaseRecord(key: key, attributes: LeaseAttributes(publicIP: Fixtures.ip(publicIP)), isReservation: false, modRevision: modRevision)
    }

    static func machine(previous: IPv4Network? = nil, previousIPv6: IPv6Network? = nil,
                        ipv6Plan: SubnetPlan<IPv6Address>? = ipv6Plan) -> LeaseMachine {
        var machine = LeaseMachine(configuration: .init(plan: plan, ipv6Plan: ipv6Plan, attributes: me, ttl: day,
                                                        previousSubnet: previous, previousIPv6Subnet: previousIPv6, candidateLimit: 1))
        _ = machine.start()
        return machine
    }

    @Test func aFreshHostTakesBothHalvesInOneKeyAtTheSamePosition() {
        var machine = Self.machine()
        var generator = SeededGenerator(seed: 0)
        let other = Self.record(Self.key("10.1.1.0/24", "fd00:1:0:1::/64"), "192.0.2.11")
        let actions = machine.leasesListed(Fixtures.listing(other), now: .zero, using: &generator)
        // 10.1.2.0/24 is the network's subnet number 2; so is fd00:1:0:2::/64.
        #expect(actions == [.createLease(Self.key("10.1.2.0/24", "fd00:1:0:2::/64"), Self.me, ttl: Self.day)])
        #expect("\(Self.key("10.1.2.0/24", "fd00:1:0:2::/64"))" == "10.1.2.0-24&fd00:1:0:2::-64")
    }

    @Test func anIPv6SubnetTakenByAnotherKeyIsNotHandedOutAgain() {
        var machine = Self.machine()
        var generator = SeededGenerator(seed: 0)
        // An upstream host holds fd00:1:0:2::/64 under another IPv4 subnet.
        let other = Self.record(Self.key("10.1.1.0/24", "fd00:1:0:2::/64"), "192.0.2.11")
        let actions = machine.leasesListed(Fixtures.listing(other), now: .zero, using: &generator)
        #expect(actions == [.createLease(Self.key("10.1.2.0/24", "fd00:1:0:1::/64"), Self.me, ttl: Self.day)])
    }

    @Test func turningIPv6OnKeepsTheHostsIPv4Subnet() {
        var machine = Self.machine()
        var generator = SeededGenerator(seed: 0)
        let mine = LeaseRecord(key: Fixtures.key("10.1.9.0/24"), attributes: Self.me, isReservation: false, modRevision: 7)
        let delete = machine.leasesListed(Fixtures.listing(mine), now: .zero, using: &generator)
        guard case let .deleteLease(key, 7, reason)? = delete.first else {
            Issue.record("expected the IPv4-only lease deleted, got \(delete)")
            return
        }
        #expect(key == Fixtures.key("10.1.9.0/24"))
        #expect(reason.contains("IPv6 fd00:1::/56, /64"))
        #expect(machine.deleteCompleted(now: .zero) == [.listLeases])
        let create = machine.leasesListed(Fixtures.listing(), now: .zero, using: &generator)
        #expect(create == [.createLease(Self.key("10.1.9.0/24", "fd00:1:0:9::/64"), Self.me, ttl: Self.day)])
    }

    @Test func turningIPv6OffKeepsTheIPv4Subnet() {
        var machine = Self.machine(ipv6Plan: nil)
        var generator = SeededGenerator(seed: 0)
        let mine = LeaseRecord(key: Self.key("10.1.9.0/24", "fd00:1:0:9::/64"), attributes: Self.me, isReservation: false, modRevision: 7)
        #expect(machine.leasesListed(Fixtures.listing(mine), now: .zero, using: &generator).first.map {
            if case .deleteLease = $0 { true } else { false }
        } == true)
        _ = machine.deleteCompleted(now: .zero)
        #expect(machine.leasesListed(Fixtures.listing(), now: .zero, using: &generator)
            == [.createLease(Fixtures.key("10.1.9.0/24"), Self.me, ttl: Self.day)])
    }

    @Test func theSubnetFilesIPv6SubnetIsAskedForFirstAndADriftIsReported() {
        var generator = SeededGenerator(seed: 0)
        var fresh = Self.machine(previous: Fixtures.net("10.1.5.0/24"), previousIPv6: Self.v6("fd00:1:0:77::/64"))
        #expect(fresh.leasesListed(Fixtures.listing(), now: .zero, using: &generator)
            == [.createLease(Self.key("10.1.5.0/24", "fd00:1:0:77::/64"), Self.me, ttl: Self.day)])

        var drifting = Self.machine(previous: Fixtures.net("10.1.5.0/24"), previousIPv6: Self.v6("fd00:1:0:77::/64"))
        let holder = Self.record(Self.key("10.1.6.0/24", "fd00:1:0:77::/64"), "192.0.2.11")
        let create = drifting.leasesListed(Fixtures.listing(holder), now: .zero, using: &generator)
        #expect(create == [.createLease(Self.key("10.1.5.0/24", "fd00:1:0:5::/64"), Self.me, ttl: Self.day)])
        let acquired = drifting.createCompleted(modRevision: 11, now: .zero)
        #expect(acquired.contains(.ipv6SubnetDrifted(from: Self.v6("fd00:1:0:77::/64"), to: Self.v6("fd00:1:0:5::/64"))))
        #expect(!acquired.contains { if case .subnetDrifted = $0 { true } else { false } })
    }

    @Test func aFullIPv6RangeFailsNamingTheIPv6Settings() throws {
        let small = try NetworkConfig.decode(#"{ "Network": "10.1.0.0/16", "EnableIPv6": true, "IPv6Network": "fd00:1::/62" }"#)
        var machine = Self.machine(ipv6Plan: small.ipv6)
        var generator = SeededGenerator(seed: 0)
        // fd00:1::/62 → /64s; SubnetMin is the second, SubnetMax the last: three usable.
        let taken = (1...3).map { Self.record(Self.key("10.1.\($0).0/24", "fd00:1:0:\($0)::/64"), "192.0.2.\(20 + $0)") }
        let actions = machine.leasesListed(LeaseListing(records: taken, revision: 3), now: .zero, using: &generator)
        guard case let .failed(error)? = actions.first else {
            Issue.record("expected a failure, got \(actions)")
            return
        }
        #expect("\(error)".contains("IPv6 network fd00:1::/62 is full"))
        #expect("\(error)".contains("IPv6SubnetMin"))
    }

    @Test func theSubnetFileNamesTheIPv6HalfAndIsReadBack() {
        let subnets = OwnSubnets(key: Self.key("10.1.5.0/24", "fd00:1:0:5::/64"), config: Self.config)
        let file = SubnetFile(subnets, mtu: 1450, ipMasq: true)
        #expect(file.rendered == """
            FLANNEL_NETWORK=10.1.0.0/16
            FLANNEL_SUBNET=10.1.5.1/24
            FLANNEL_IPV6_NETWORK=fd00:1::/56
            FLANNEL_IPV6_SUBNET=fd00:1:0:5::1/64
            FLANNEL_MTU=1450
            FLANNEL_IPMASQ=true

            """)
        #expect(SubnetFile.previousIPv6Subnet(in: file.rendered) == Self.v6("fd00:1:0:5::/64"))
        #expect(SubnetFile.previousIPv6Subnet(in: "FLANNEL_SUBNET=10.1.5.1/24\n") == nil)
        #expect(SubnetFile.previousIPv6Subnet(in: "FLANNEL_IPV6_SUBNET=junk\n") == nil)
    }

    @Test func globalUnicastIsWhatUpstreamAccepts() {
        for text in ["2001:db8::5", "fd00:12::1", "2a00:1450::1"] { #expect(IPv6Address(text)!.isGlobalUnicast, "\(text)") }
        for text in ["::", "::1", "fe80::1", "febf::1", "ff02::1"] { #expect(!IPv6Address(text)!.isGlobalUnicast, "\(text)") }
    }
}

/// Two keys sharing one subnet (`10.1.5.0-24&…:77::` and `10.1.5.0-24&…:5::`) are two
/// creates that "create if absent" cannot stop: the allocator avoids making them, and a host
/// that finds one gives its subnet up if the other key is older.
@Suite("Dual-stack keys sharing a subnet")
struct DualStackSharedSubnetTests {
    typealias T = DualStackLeaseTests

    @Test func theSubnetFilesIPv6SubnetGoesOnlyWithItsIPv4One() {
        var generator = SeededGenerator(seed: 0)
        var machine = T.machine(previous: Fixtures.net("10.1.5.0/24"), previousIPv6: T.v6("fd00:1:0:77::/64"))
        // 10.1.5.0/24 was taken meanwhile; the new IPv4 subnet gets its own position's IPv6 subnet.
        let holder = T.record(T.key("10.1.5.0/24", "fd00:1:0:5::/64"), "192.0.2.11")
        #expect(machine.leasesListed(Fixtures.listing(holder), now: .zero, using: &generator)
            == [.createLease(T.key("10.1.1.0/24", "fd00:1:0:1::/64"), T.me, ttl: T.day)])
    }

    @Test func aFreeIPv4SubnetWhoseIPv6PartnerIsFreeIsPreferred() {
        var generator = SeededGenerator(seed: 3)
        var machine = LeaseMachine(configuration: .init(plan: T.plan, ipv6Plan: T.ipv6Plan, attributes: T.me, ttl: T.day, candidateLimit: 3))
        _ = machine.start()
        // An upstream host took fd00:1:0:1::/64 and fd00:1:0:2::/64 (random picks) under 10.1.9.0/24 and 10.1.8.0/24.
        let listing = Fixtures.listing(T.record(T.key("10.1.8.0/24", "fd00:1:0:2::/64"), "192.0.2.12"),
                                       T.record(T.key("10.1.9.0/24", "fd00:1:0:1::/64"), "192.0.2.11"))
        #expect(machine.leasesListed(listing, now: .zero, using: &generator)
            == [.createLease(T.key("10.1.3.0/24", "fd00:1:0:3::/64"), T.me, ttl: T.day)])
    }

    @Test func theOlderKeyKeepsASharedSubnetAndTheYoungerMoves() {
        var generator = SeededGenerator(seed: 0)
        var machine = T.machine()
        _ = machine.leasesListed(Fixtures.listing(), now: .zero, using: &generator)
        let ours = T.key("10.1.1.0/24", "fd00:1:0:1::/64")
        _ = machine.createCompleted(modRevision: 11, now: .zero)
        #expect(machine.lease?.key == ours)
        // A younger key with our IPv6 subnet: theirs to give up, not ours.
        let younger = LeaseRecord(key: T.key("10.1.2.0/24", "fd00:1:0:1::/64"), attributes: LeaseAttributes(publicIP: Fixtures.ip("192.0.2.11")),
                                  isReservation: false, modRevision: 12, createRevision: 12)
        #expect(machine.sharedSubnet(with: younger, now: .zero).isEmpty)
        // An older key with our IPv4 subnet: ours goes, and another lease is taken.
        let older = LeaseRecord(key: T.key("10.1.1.0/24", "fd00:1:0:7::/64"), attributes: LeaseAttributes(publicIP: Fixtures.ip("192.0.2.12")),
                                isReservation: false, modRevision: 9, createRevision: 9)
        let actions = machine.sharedSubnet(with: older, now: .zero)
        #expect(actions.first == .leaseLost(ours, heldBy: "192.0.2.12"))
        guard case let .deleteLease(key, 11, reason)? = actions.last else {
            Issue.record("expected our key deleted, got \(actions)")
            return
        }
        #expect(key == ours && reason.contains("10.1.1.0/24 is also in lease 10.1.1.0-24&fd00:1:0:7::-64 of 192.0.2.12"))
        #expect(machine.deleteCompleted(now: .zero) == [.listLeases])
        let recreate = machine.leasesListed(Fixtures.listing(older, younger), now: .zero, using: &generator)
        #expect(recreate == [.createLease(T.key("10.1.3.0/24", "fd00:1:0:3::/64"), T.me, ttl: T.day)])
        let moved = machine.createCompleted(modRevision: 14, now: .zero)
        #expect(moved.contains(.subnetDrifted(from: Fixtures.net("10.1.1.0/24"), to: Fixtures.net("10.1.3.0/24"))))
        #expect(moved.contains(.ipv6SubnetDrifted(from: T.v6("fd00:1:0:1::/64"), to: T.v6("fd00:1:0:3::/64"))))
    }
}

extension DualStackSharedSubnetTests {
    /// Turning IPv6 on with a subnet file that names another IPv4 subnet than the old lease:
    /// the subnet file's (what containers use) is asked for first and a move from it reported.
    @Test func theSubnetFileStaysWhatADriftIsReportedAgainst() {
        var generator = SeededGenerator(seed: 0)
        var machine = T.machine(previous: Fixtures.net("10.1.4.0/24"))
        let mine = LeaseRecord(key: Fixtures.key("10.1.9.0/24"), attributes: T.me, isReservation: false, modRevision: 7)
        _ = machine.leasesListed(Fixtures.listing(mine), now: .zero, using: &generator)
        _ = machine.deleteCompleted(now: .zero)
        #expect(machine.leasesListed(Fixtures.listing(), now: .zero, using: &generator)
            == [.createLease(T.key("10.1.4.0/24", "fd00:1:0:4::/64"), T.me, ttl: T.day)])
    }
}
