@testable import AgentCore
@testable import Agent
import Sim
import Testing

@Suite("Peer table")
struct PeerTableTests {
    static let me = Fixtures.ip("192.0.2.10")
    static let mine = Fixtures.record("10.1.82.0/24", "192.0.2.10")
    static let a = Fixtures.record("10.1.33.0/24", "192.0.2.11")
    static let b = Fixtures.record("10.1.71.0/24", "192.0.2.12")

    static func peer(_ record: LeaseRecord) -> Peer { Peer(key: record.key, attributes: record.attributes) }

    @Test func snapshotAddsEveryoneButUsInSubnetOrder() {
        var table = PeerTable(ownPublicIP: Self.me, ownKey: Self.mine.key)
        let changes = table.applySnapshot(Fixtures.listing(Self.mine, Self.b, Self.a, revision: 7))
        #expect(changes == [.added(Self.peer(Self.a)), .added(Self.peer(Self.b))])
        #expect(table.peers == [Self.peer(Self.a), Self.peer(Self.b)])
        #expect(table.revision == 7)
    }

    @Test func watchEventsAddChangeAndRemovePeers() {
        var table = PeerTable(ownPublicIP: Self.me, ownKey: Self.mine.key)
        _ = table.applySnapshot(Fixtures.listing(Self.mine, Self.a, revision: 7))

        let moved = Fixtures.record("10.1.33.0/24", "192.0.2.99")
        let changes = table.apply(LeaseEventBatch(events: [.put(Self.b), .put(moved), .delete(Self.b.key)], revision: 9))
        #expect(changes == [.added(Self.peer(Self.b)), .changed(from: Self.peer(Self.a), to: Self.peer(moved)), .removed(Self.peer(Self.b))])
        #expect(table.revision == 9)
    }

    @Test func renewalsRepeatingTheSameValueChangeNothing() {
        var table = PeerTable(ownPublicIP: Self.me, ownKey: Self.mine.key)
        _ = table.applySnapshot(Fixtures.listing(Self.a, revision: 7))
        var renewed = Self.a
        renewed.modRevision = 50
        #expect(table.apply(LeaseEventBatch(events: [.put(renewed), .put(renewed)], revision: 50)).isEmpty)
    }

    @Test func deleteUsesTheCachedLeaseAndUnknownDeletesAreIgnored() {
        var table = PeerTable(ownPublicIP: Self.me, ownKey: Self.mine.key)
        _ = table.applySnapshot(Fixtures.listing(Self.a, revision: 7))
        #expect(table.apply(LeaseEventBatch(events: [.delete(Self.b.key), .delete(Self.a.key)], revision: 8))
            == [.removed(Self.peer(Self.a))])
    }

    @Test func ourOwnKeyIsNeverAPeerButItsFateIsReported() {
        var table = PeerTable(ownPublicIP: Self.me, ownKey: Self.mine.key)
        _ = table.applySnapshot(Fixtures.listing(Self.mine, revision: 7))
        var renewed = Self.mine
        renewed.modRevision = 8
        #expect(table.apply(LeaseEventBatch(events: [.put(renewed)], revision: 8)).isEmpty)
        let thief = Fixtures.record("10.1.82.0/24", "192.0.2.66")
        #expect(table.apply(LeaseEventBatch(events: [.put(thief)], revision: 9))
            == [.ownLeaseOverwritten(Self.mine.key, thief.attributes, revision: 9)])
        #expect(table.apply(LeaseEventBatch(events: [.delete(Self.mine.key)], revision: 10)) == [.ownLeaseRemoved(Self.mine.key, revision: 10)])
        #expect(table.peers.isEmpty)
    }

    @Test func relistAfterCompactionDiffsAgainstWhatWeHad() {
        var table = PeerTable(ownPublicIP: Self.me, ownKey: Self.mine.key)
        _ = table.applySnapshot(Fixtures.listing(Self.mine, Self.a, revision: 7))
        let c = Fixtures.record("10.1.90.0/24", "192.0.2.13")
        let aMoved = Fixtures.record("10.1.33.0/24", "192.0.2.21")
        // While compacted away: a changed its IP, b came and went, c arrived.
        let changes = table.applySnapshot(Fixtures.listing(Self.mine, aMoved, c, revision: 40))
        #expect(changes == [.changed(from: Self.peer(Self.a), to: Self.peer(aMoved)), .added(Self.peer(c))])
        #expect(table.revision == 40)
        #expect(table.applySnapshot(Fixtures.listing(Self.mine, c, revision: 41)) == [.removed(Self.peer(aMoved))])
    }

    @Test func relistReportsOurOwnKeyGone() {
        var table = PeerTable(ownPublicIP: Self.me, ownKey: Self.mine.key)
        _ = table.applySnapshot(Fixtures.listing(Self.mine, Self.a, revision: 7))
        #expect(table.applySnapshot(Fixtures.listing(Self.a, revision: 9)) == [.ownLeaseRemoved(Self.mine.key, revision: 9)])
    }

    @Test func malformedEntriesAreReportedAndKeepTheLastGoodValue() {
        var table = PeerTable(ownPublicIP: Self.me, ownKey: Self.mine.key)
        _ = table.applySnapshot(Fixtures.listing(Self.a, revision: 7))
        let garbage = MalformedLease(key: "/coreos.com/network/subnets/10.1.33.0-24", reason: "invalid JSON at byte 0",
                                     subnet: Self.a.key)
        let badKey = MalformedLease(key: "/coreos.com/network/subnets/bogus", reason: "the key is not a subnet")
        #expect(table.apply(LeaseEventBatch(events: [.malformed(garbage), .malformed(badKey)], revision: 8))
            == [.malformed(garbage), .malformed(badKey)])
        #expect(table.peers == [Self.peer(Self.a)])
        // The same in a re-list: a value gone bad does not take the working peer away.
        let changes = table.applySnapshot(LeaseListing(records: [], malformed: [garbage], revision: 12))
        #expect(changes == [.malformed(garbage)])
        #expect(table.peers == [Self.peer(Self.a)])
    }

    @Test func lateBatchesFromBeforeARelistAreIgnored() {
        var table = PeerTable(ownPublicIP: Self.me, ownKey: Self.mine.key)
        _ = table.applySnapshot(Fixtures.listing(Self.a, revision: 20))
        #expect(table.apply(LeaseEventBatch(events: [.put(Self.b), .delete(Self.a.key)], revision: 19)).isEmpty)
        #expect(table.apply(LeaseEventBatch(events: [.put(Self.b)], revision: 20)).isEmpty)
        #expect(table.peers == [Self.peer(Self.a)])
    }

    @Test func ownSubnetChangeTurnsTheOldSubnetIntoAPeer() {
        // We move from 10.1.82.0 to 10.1.90.0; the old subnet now belongs to another host.
        var table = PeerTable(ownPublicIP: Self.me, ownKey: Self.mine.key)
        let newOwner = Fixtures.record("10.1.82.0/24", "192.0.2.30")
        _ = table.applySnapshot(Fixtures.listing(newOwner, revision: 20))
        #expect(table.peers.isEmpty)
        let changes = table.setOwnKey(Fixtures.key("10.1.90.0/24"))
        #expect(changes == [.added(Self.peer(newOwner))])
    }
}

@Suite("Peer table: sharing leases between tables")
struct PeerTableSharingTests {
    /// Tables with different own keys, fed the same random history (puts, renewals, value
    /// changes, deletes, malformed entries, re-lists), through one `Sharing` or each alone:
    /// the same changes and peers at every step, and one copy of the leases in the end.
    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func sharedTablesGiveExactlyTheUnsharedResults(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        let subnets = (1...12).map { Fixtures.key("10.1.\($0).0/24") }
        let owners = (0..<4).map { Fixtures.ip("192.0.2.\(10 + $0)") }
        var alone = owners.enumerated().map { PeerTable(ownPublicIP: $1, ownKey: subnets[$0]) }
        var shared = alone
        let sharing = PeerTable.Sharing()
        var etcd: [SubnetKey: LeaseAttributes] = [:]
        var revision: Int64 = 1
        for _ in 0..<300 {
            revision += 1
            if Int.random(in: 0..<10, using: &random) == 0 {
                let listing = LeaseListing(records: etcd.keys.sorted().map { LeaseRecord(key: $0, attributes: etcd[$0]!, isReservation: false, modRevision: revision) },
                                           revision: revision)
                for index in alone.indices {
                    #expect(alone[index].applySnapshot(listing) == shared[index].applySnapshot(listing, sharing: sharing))
                }
            } else {
                var events: [LeaseEvent] = []
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    let key = subnets[Int.random(in: 0..<subnets.count, using: &random)]
                    switch Int.random(in: 0..<4, using: &random) {
                    case 0:
                        etcd[key] = nil
                        events.append(.delete(key))
                    case 1:
                        events.append(.malformed(MalformedLease(key: "/coreos.com/network/subnets/\(key)", reason: "bad", subnet: key)))
                    default:
                        let value = LeaseAttributes(publicIP: owners[Int.random(in: 0..<owners.count, using: &random)])
                        etcd[key] = value
                        events.append(.put(LeaseRecord(key: key, attributes: value, isReservation: false, modRevision: revision)))
                    }
                }
                // Sometimes a second batch right after, delivered watcher by watcher as the
                // simulator's broadcast does (each table takes both before the next table).
                var batches = [LeaseEventBatch(events: events, revision: revision)]
                if Int.random(in: 0..<3, using: &random) == 0 {
                    revision += 1
                    let key = subnets[Int.random(in: 0..<subnets.count, using: &random)]
                    let value = LeaseAttributes(publicIP: owners[Int.random(in: 0..<owners.count, using: &random)])
                    etcd[key] = value
                    batches.append(LeaseEventBatch(events: [.put(LeaseRecord(key: key, attributes: value, isReservation: false, modRevision: revision))],
                                                   revision: revision))
                }
                // One table sometimes misses the first batch (a watch that broke) and so
                // falls behind the others.
                let lagging = Int.random(in: 0..<8, using: &random) == 0 ? Int.random(in: 0..<alone.count, using: &random) : nil
                for index in alone.indices {
                    for (number, batch) in batches.enumerated() where !(number == 0 && index == lagging) {
                        #expect(alone[index].apply(batch) == shared[index].apply(batch, sharing: sharing))
                    }
                }
                // Now and then a table's own subnet moves (a drift).
                if Int.random(in: 0..<25, using: &random) == 0 {
                    let index = Int.random(in: 0..<alone.count, using: &random)
                    let moved = subnets[Int.random(in: 0..<subnets.count, using: &random)]
                    #expect(alone[index].setOwnKey(moved) == shared[index].setOwnKey(moved))
                }
            }
            for index in alone.indices { #expect(alone[index].peers == shared[index].peers) }
        }
        // After a final full listing every table holds the same leases, and one copy of them.
        revision += 1
        let listing = LeaseListing(records: etcd.keys.sorted().map { LeaseRecord(key: $0, attributes: etcd[$0]!, isReservation: false, modRevision: revision) },
                                   revision: revision)
        for index in alone.indices { #expect(alone[index].applySnapshot(listing) == shared[index].applySnapshot(listing, sharing: sharing)) }
        #expect(shared.dropFirst().allSatisfy { $0.sharesLeases(with: shared[0]) })
        #expect(!alone[1].sharesLeases(with: alone[0]))
    }
}

extension PeerTableSharingTests {
    /// Fresh tables (agents just started) listing at one revision share the listing's leases;
    /// each still gets its own view: its key is no peer, and a lease of ours now naming
    /// another host is reported as overwritten.
    @Test func freshTablesListingTogetherGetTheirOwnChanges() {
        let records = (1...6).map { Fixtures.record("10.1.\($0).0/24", "192.0.2.\(10 + $0)") }
        let listing = LeaseListing(records: records, revision: 40)
        let sharing = PeerTable.Sharing()
        let cases: [(ip: String, own: String?)] = [("192.0.2.11", "10.1.1.0/24"), ("192.0.2.12", "10.1.2.0/24"),
                                                   ("192.0.2.99", "10.1.3.0/24"), ("192.0.2.98", nil), ("192.0.2.97", "10.1.9.0/24")]
        var shared: [PeerTable] = []
        for (ip, own) in cases {
            var alone = PeerTable(ownPublicIP: Fixtures.ip(ip), ownKey: own.map(Fixtures.key))
            var table = alone
            #expect(alone.applySnapshot(listing) == table.applySnapshot(listing, sharing: sharing))
            #expect(alone.peers == table.peers)
            shared.append(table)
        }
        #expect(shared.dropFirst().allSatisfy { $0.sharesLeases(with: shared[0]) })
    }
}

extension PeerTableSharingTests {
    /// A first listing in subnet order takes the fast path; the same records shuffled take the
    /// general one: same changes, peers and revision, with or without a shared store (and a
    /// shared store of the same size but other content is not adopted).
    @Test(arguments: [UInt64(7), 8, 9])
    func firstListingFastPathEqualsTheGeneralPath(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        let sharing = PeerTable.Sharing()
        for round in 0..<40 {
            let count = Int.random(in: 0...30, using: &random)
            let subnets = Array(Set((0..<count).map { _ in Int.random(in: 1...200, using: &random) })).sorted()
            let records = subnets.map { Fixtures.record("10.1.\($0).0/24", "192.0.2.\(Int.random(in: 1...9, using: &random))") }
            let revision = Int64(100 + round)
            let ordered = LeaseListing(records: records, revision: revision)
            let shuffled = LeaseListing(records: records.shuffled(using: &random), revision: revision)
            let own = records.isEmpty || Bool.random(using: &random) ? Fixtures.key("10.1.250.0/24") : records.randomElement(using: &random)!.key
            let ownIP = Fixtures.ip("192.0.2.\(Int.random(in: 1...9, using: &random))")
            var general = PeerTable(ownPublicIP: ownIP, ownKey: own)
            var fast = general
            var fastShared = general
            let expected = general.applySnapshot(shuffled.records.count > 1 && !PeerTable.isInSubnetOrder(shuffled.records) ? shuffled : ordered)
            #expect(fast.applySnapshot(ordered) == expected)
            #expect(fastShared.applySnapshot(ordered, sharing: sharing) == expected)
            #expect(fast.peers == general.peers && fastShared.peers == general.peers)
            #expect(fast.revision == revision && fastShared.revision == revision)
            // A store of the same size at the same revision but with one value changed.
            if let first = records.first {
                var other = records
                other[0] = Fixtures.record(first.key.ipv4.map { "\($0)" } ?? "", "198.51.100.1")
                var decoy = PeerTable(ownPublicIP: ownIP)
                _ = decoy.applySnapshot(LeaseListing(records: other, revision: revision + 1000), sharing: sharing)
                var late = PeerTable(ownPublicIP: ownIP, ownKey: own)
                #expect(late.applySnapshot(LeaseListing(records: records, revision: revision + 1000), sharing: sharing)
                        == PeerTable(ownPublicIP: ownIP, ownKey: own).applying(LeaseListing(records: records, revision: revision + 1000)))
                #expect(late.peers == general.peers)
            }
        }
    }
}

extension PeerTable {
    /// The snapshot's changes on a copy (test helper).
    func applying(_ listing: LeaseListing) -> [Change] {
        var copy = self
        return copy.applySnapshot(listing)
    }
}
