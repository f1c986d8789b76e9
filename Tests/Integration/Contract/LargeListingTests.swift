import Agent
import Foundation
import NetnsLab
import Testing

/// Listings that one unpaginated answer could not carry: thousands of leases beside values of
/// etcd's maximum size. Before paging, three 1.4 MB values under the prefix (or ~30,000
/// ordinary leases) put every listing above gRPC's 4 MiB and failed every agent for good.
@Suite("large listings (real etcd)", .serialized, .enabled(if: LabGate.shouldRun))
struct LargeListingTests {
    static let layout = EtcdKeyLayout(prefix: "/flannel-test/network")
    static let junk = String(repeating: "x", count: 1_400_000)
    static let leaseValue = #"{"PublicIP":"192.0.2.1","BackendType":"udp"}"#

    static func configuration(_ etcd: EtcdProcess, answerLimit: Int? = nil) throws -> EtcdClientConfiguration {
        var configuration = EtcdClientConfiguration(endpoints: [try EtcdEndpoint.parse(etcd.clientURL)], requestTimeout: .seconds(20))
        if let answerLimit { configuration.maximumAnswerBytes = answerLimit }
        return configuration
    }

    static func leaseKey(_ index: Int) -> String {
        layout.leaseKey(SubnetKey(IPv4Network(address: IPv4Address(bits: 0x0A00_0000 | UInt32(index) << 8), prefixLength: 24)))
    }

    @Test func aV3ListingComesWholeInPagesAtOneRevisionPastHugeValues() async throws {
        guard LabGate.requireRoot() else { return }
        let etcd = try EtcdProcess()
        defer { etcd.remove() }
        let writer = try EtcdV3Client(configuration: Self.configuration(etcd))
        for first in stride(from: 0, to: 2_500, by: 100) {
            let puts = (first..<first + 100).map { TxnOperation.put(key: Self.leaseKey($0), value: Self.leaseValue, lease: 0) }
            _ = try await writer.txn(compare: [], success: puts, failure: [])
        }
        for index in 1...3 { _ = try await writer.txn(compare: [], success: [.put(key: Self.layout.subnetsPrefix + "/junk-\(index)", value: Self.junk, lease: 0)], failure: []) }
        await writer.close()

        // A 2 MiB answer limit: pages of ordinary leases pass, a page with a junk value shrinks
        // to a single key, which fits (1.4 MB).
        let client = try EtcdV3Client(configuration: Self.configuration(etcd, answerLimit: 2 << 20))
        let listing = try await EtcdRegistry(kv: client, layout: Self.layout).listLeases()
        #expect(listing.records.count == 2_500)
        #expect(listing.malformed.count == 3 && listing.malformed.allSatisfy { $0.kind == .badKey })
        #expect(listing.records.allSatisfy { $0.modRevision <= listing.revision }, "one snapshot: nothing newer than its revision")
        await client.close()

        // Below the size of one value: a clear error, never a hang or a crash.
        let tight = try EtcdV3Client(configuration: Self.configuration(etcd, answerLimit: 1 << 20))
        await #expect { try await EtcdRegistry(kv: tight, layout: Self.layout).listLeases() } throws: { error in
            guard case .answerTooLarge = error as? EtcdError else { return false }
            return "\(error)".contains("larger than 1 MiB") && "\(error)".contains("delete them")
        }
        await tight.close()
    }

    @Test func aV2ListingAboveTheBodyLimitNamesTheCause() async throws {
        guard LabGate.requireRoot() else { return }
        let etcd = try EtcdProcess(options: .init(enableV2: true))
        defer { etcd.remove() }
        let writer = try EtcdV2Client(configuration: Self.configuration(etcd))
        for index in 0..<200 { _ = try await writer.request(.PUT, key: Self.leaseKey(index), form: [("value", Self.leaseValue)]) }
        for index in 1...3 { _ = try await writer.request(.PUT, key: Self.layout.subnetsPrefix + "/junk-\(index)", form: [("value", Self.junk)]) }
        await writer.close()

        let client = try EtcdV2Client(configuration: Self.configuration(etcd))
        let listing = try await EtcdV2Registry(client: client, layout: Self.layout).listLeases()
        #expect(listing.records.count == 200 && listing.malformed.count == 3)
        await client.close()

        let tight = try EtcdV2Client(configuration: Self.configuration(etcd, answerLimit: 2 << 20))
        await #expect { try await EtcdV2Registry(client: tight, layout: Self.layout).listLeases() } throws: { error in
            guard case .answerTooLarge = error as? EtcdError else { return false }
            return "\(error)".contains("GET /flannel-test/network/subnets") && "\(error)".contains("larger than 2 MiB")
        }
        await tight.close()
    }
}
