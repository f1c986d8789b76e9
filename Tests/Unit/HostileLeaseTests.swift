import Agent
import Sim
import Testing

/// What a writer with access to the prefix can no longer do with lease keys: hijack a peer's
/// traffic with a longer prefix, block every new host with a short one, leave routes behind,
/// or flood and forge the log.
@Suite("Hostile leases")
struct HostileLeaseTests {
    static let layout = EtcdKeyLayout()
    static let screen = LeaseScreen(ipv4: Fixtures.plan, layout: layout)

    static func entry(_ name: String, _ publicIP: String = "192.0.2.66") -> LeaseRecord {
        LeaseRecord(key: try! SubnetKey(parsing: name), attributes: LeaseAttributes(publicIP: Fixtures.ip(publicIP)),
                    isReservation: false, modRevision: 5)
    }

    @Test("only SubnetLen-sized keys inside the network are used; the rest are skipped with the reason")
    func screenKeepsOnlyPlanSizedKeys() {
        let honest = Self.entry("10.1.82.0-24", "192.0.2.2")
        let bad = ["10.1.82.0-25", "10.1.82.7-32", "10.1.0.0-16", "0.0.0.0-0&fd00::-64", "10.2.3.0-24", "10.0.0.0-8"].map { Self.entry($0) }
        let listing = Self.screen.screen(LeaseListing(records: [honest] + bad, revision: 9))
        #expect(listing.records == [honest])
        #expect(listing.malformed.map(\.kind) == [.wrongLength, .wrongLength, .wrongLength, .outsideNetwork, .outsideNetwork, .wrongLength])
        #expect(listing.malformed[3].reason == "it has no IPv4 subnet; the network has no IPv6; ignored", "an IPv6-only key in an IPv4 network")
        #expect(listing.malformed.allSatisfy { $0.subnet == nil }, "skipped keys occupy nothing")
        #expect(listing.malformed[0].description
            == #"skipping lease "/coreos.com/network/subnets/10.1.82.0-25": its prefix /25 is not the network's SubnetLen /24; ignored"#)
        // Nothing to screen: the very same listing.
        let clean = LeaseListing(records: [honest], revision: 9)
        #expect(Self.screen.screen(clean) == clean)
    }

    @Test("a bad value under a /16 key does not occupy the network either")
    func malformedValueUnderAWideKeyOccupiesNothing() {
        let wide = MalformedLease(key: "/coreos.com/network/subnets/10.1.0.0-16", reason: "not JSON", subnet: try! SubnetKey(parsing: "10.1.0.0-16"))
        let fine = MalformedLease(key: "/coreos.com/network/subnets/10.1.9.0-24", reason: "not JSON", subnet: try! SubnetKey(parsing: "10.1.9.0-24"))
        let listing = Self.screen.screen(LeaseListing(records: [], malformed: [wide, fine], revision: 3))
        #expect(listing.malformed.map(\.subnet) == [nil, fine.subnet])
        let batch = Self.screen.screen(LeaseEventBatch(events: [.malformed(wide)], revision: 4))
        #expect(batch.events == [.malformed(MalformedLease(key: wide.key, reason: "not JSON", subnet: nil, kind: .badValue))])
    }

    @Test("watch puts of unusable keys become skipped entries; their deletes are dropped")
    func screenedBatch() {
        let honest = Self.entry("10.1.15.0-24", "192.0.2.2")
        let batch = LeaseEventBatch(events: [.put(Self.entry("10.1.15.0-25")), .put(honest), .delete(try! SubnetKey(parsing: "10.1.15.0-25")),
                                             .delete(honest.key)], revision: 12)
        let screened = Self.screen.screen(batch)
        #expect(screened.events.count == 3)
        guard case let .malformed(skipped) = screened.events[0] else { Issue.record("\(screened.events)"); return }
        #expect(skipped.kind == .wrongLength && skipped.key == "/coreos.com/network/subnets/10.1.15.0-25")
        #expect(Array(screened.events.dropFirst()) == [.put(honest), .delete(honest.key)])
    }

    @Test("a /16 or an IPv6-only key does not make the network full for a joining host")
    func wideKeysDoNotBlockAllocation() {
        var machine = LeaseMachine(configuration: .init(plan: Fixtures.plan, attributes: LeaseAttributes(publicIP: Fixtures.ip("192.0.2.1")),
                                                        candidateLimit: 1))
        var generator = SeededGenerator(seed: 0)
        _ = machine.start()
        let listing = LeaseListing(records: [Self.entry("10.1.0.0-16"), Self.entry("0.0.0.0-0&fd00::-64"), Self.entry("10.1.1.0-25")], revision: 4)
        let actions = machine.leasesListed(listing, now: .zero, using: &generator)
        guard case let .createLease(key, _, _)? = actions.first else { Issue.record("\(actions)"); return }
        #expect(key.ipv4 == Fixtures.net("10.1.1.0/24"), "SubnetMin is free: the /25 inside it is no lease")
    }

    @Test("an agent never routes a /25 written inside a peer's subnet, and logs it once")
    func agentIgnoresAHijackingKey() {
        var drive = AgentMachineTests.Drive()
        let peer = Fixtures.record("10.1.15.0/24", "192.0.2.2")
        drive.toRunning(peers: [peer])
        let before = drive.machine.table?.peers
        drive.actions.removeAll()
        for revision in Int64(20)..<Int64(25) {
            drive.send(.watchDelivered(LeaseEventBatch(events: [.put(Self.entry("10.1.15.128-25"))], revision: revision)), after: .seconds(1))
        }
        #expect(drive.machine.table?.peers == before)
        #expect(!drive.actions.contains(.programPeers))
        #expect(drive.logs == [#"skipping lease "/coreos.com/network/subnets/10.1.15.128-25": its prefix /25 is not the network's SubnetLen /24; ignored"#])
        #expect(drive.actions.filter { $0 == .observe(.leasesIgnored(.wrongLength, count: 1)) }.count == 5, "every sighting is counted")
        drive.actions.removeAll()
        drive.send(.watchDelivered(LeaseEventBatch(events: [.delete(try! SubnetKey(parsing: "10.1.15.128-25"))], revision: 30)))
        #expect(drive.actions.isEmpty)
    }

    @Test("10,000 junk keys give ten warning lines a minute and one line saying how many were held back")
    func warningsAreRateLimited() {
        var drive = AgentMachineTests.Drive()
        drive.toRunning()
        drive.actions.removeAll()
        let junk = (0..<10_000).map { index in
            LeaseEvent.malformed(MalformedLease(key: "/coreos.com/network/subnets/junk-\(index)", reason: "the key is not a subnet"))
        }
        drive.send(.watchDelivered(LeaseEventBatch(events: junk, revision: 20)))
        #expect(drive.logs.count == 10)
        #expect(drive.actions.contains(.observe(.leasesIgnored(.badKey, count: 10_000))))
        drive.actions.removeAll()
        drive.send(.watchDelivered(LeaseEventBatch(events: [.malformed(MalformedLease(key: "/coreos.com/network/subnets/late", reason: "x"))],
                                                   revision: 21)), after: .seconds(61))
        #expect(drive.logs == ["9990 more skipped lease entries were not logged in the last minute (see flannel_lease_entries_ignored_total)",
                               #"skipping lease "/coreos.com/network/subnets/late": x"#])
    }

    @Test("keys and values reach the log bounded and escaped: no forged lines, no floods")
    func logTextIsBoundedAndEscaped() {
        #expect(LogText.bounded("10.1.5.0-24\nI1207 00:00:00 forged line") == #"10.1.5.0-24\nI1207 00:00:00 forged line"#)
        #expect(LogText.quoted("a\"b\\c\r\t\u{1B}[31m\u{202E}") == #""a\"b\\c\r\t\u{1b}[31m\u{202e}""#)
        let huge = String(repeating: "A", count: 1_500_000)
        #expect(LogText.bounded(huge) == String(repeating: "A", count: LogText.limit) + "…(\(1_500_000 - LogText.limit) more bytes)")
        #expect(LogText.bounded("välue") == "välue")
        let malformed = MalformedLease(key: "/coreos.com/network/subnets/x\ny", reason: String(repeating: "z", count: 5_000))
        #expect(!malformed.description.contains("\n") && malformed.description.utf8.count < 400)
    }

    @Test("every route we made carries our mark and goes when no lease needs it; unmarked ones only when lease-sized")
    func routesAreOursByMark() {
        let planner = KernelPlanTests.hostGW
        let eth0 = KernelPlanTests.eth0
        let ourQuarter = KernelRoute(destination: Fixtures.net("10.1.15.128/25"), gateway: Fixtures.ip("192.0.2.66"), device: eth0, onlink: false)
        let operators = KernelRoute(destination: Fixtures.net("10.1.16.0/25"), gateway: Fixtures.ip("192.0.2.67"), device: eth0, onlink: false,
                                    protocolNumber: 4)
        let upstreams = KernelRoute(destination: Fixtures.net("10.1.15.0/24"), gateway: Fixtures.ip("192.0.2.2"), device: eth0, onlink: false,
                                    protocolNumber: KernelRoute.bootProtocol)
        let current = KernelTables(routes: [ourQuarter, operators, upstreams])
        #expect(planner.managed(current).routes == [ourQuarter, upstreams])
        let peer = Peer(key: Fixtures.key("10.1.15.0/24"), attributes: LeaseAttributes(publicIP: Fixtures.ip("192.0.2.2"), backendType: "host-gw"))
        let plan = planner.plan(peers: [peer], current: current)
        #expect(plan.removals == [.deleteRoute(ourQuarter)])
        // Upstream's route to a live peer is taken over: replaced with our mark.
        #expect(plan.additions.flatMap(\.steps) == [.replaceRoute(KernelRoute(destination: Fixtures.net("10.1.15.0/24"),
                                                                             gateway: Fixtures.ip("192.0.2.2"), device: eth0, onlink: false))])
        #expect(upstreams.description == "10.1.15.0/24 via 192.0.2.2 dev eth0 proto 3")
    }
}
