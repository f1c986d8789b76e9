import Agent
import Foundation
import NetnsLab
import Testing

/// The conformance report's scenarios (`netns-lab conformance`) against our binary, where every
/// one passes, and against upstream's, where each failure is the upstream defect it was built
/// to show (docs/CONFORMANCE.md), in its own terms.
@Suite("Conformance report (lab)", .serialized, .enabled(if: LabGate.shouldRun))
struct ConformanceLabTests {
    static func subject(_ release: MixedClusterLabTests.Release) -> ConformanceSubject? {
        guard FileManager.default.isExecutableFile(atPath: release.binary) else {
            if LabGate.isCI { Issue.record("\(release.binary) is missing; set FLANNEL_UPSTREAM_DIR to the folder holding flanneld-\(release.rawValue)") }
            return nil
        }
        return ConformanceSubject(binary: release.binary, name: "upstream \(release.rawValue)", etcdV2: release.usesV2)
    }

    static func verdict(_ id: String, _ subject: ConformanceSubject) throws -> ConformanceVerdict {
        let scenario = try #require(ConformanceCase.catalogue.first { $0.id == id })
        return ConformanceReport.run(scenario, subject)
    }

    @Test(arguments: ConformanceCase.catalogue.map(\.id))
    func oursPassesEveryScenario(id: String) throws {
        guard LabGate.requireRoot() else { return }
        let subject = try ConformanceSubject.detect(binary: SeedPingTests.flanneld)
        #expect(!subject.etcdV2)
        let verdict = try Self.verdict(id, subject)
        #expect(verdict == .pass, "\(verdict)")
    }

    /// Usually "1 of 6 routed"; the lone first lease can be lost too (then that check fails):
    /// either way a lease in etcd never gets its route.
    @Test("upstream 0.20.2 keeps one event of a watch response: leases created at once never get a route")
    func upstream0202MissesLeasesCreatedTogether() throws {
        guard LabGate.requireRoot(), let subject = Self.subject(.v0202) else { return }
        let verdict = try Self.verdict("watch-burst", subject)
        guard case let .fail(check, _, happened) = verdict else { Issue.record("expected a failure, got \(verdict)"); return }
        let burst = check == "routes after six leases created at once" && happened.contains(" of 6 routed") && happened.contains("never routed: 10.1.")
        let first = check.hasSuffix("route to 10.1.240.0/24") && happened.contains("the agent never programmed it")
        #expect(burst || first, "\(check): \(happened)")
    }

    @Test("upstream routes a hostile /25 inside a peer's subnet (both releases); 0.7.0's watch sees every lease")
    func upstreamRoutesAHijackingKey() throws {
        guard LabGate.requireRoot() else { return }
        for release in MixedClusterLabTests.Release.allCases {
            guard let subject = Self.subject(release) else { return }
            let verdict = try Self.verdict("hijacking-key", subject)
            guard case let .fail(_, _, happened) = verdict else { Issue.record("\(release.rawValue): expected a failure, got \(verdict)"); continue }
            #expect(happened.contains("/25 via 192.0.2.66 dev eth0"), "\(release.rawValue): \(happened)")
        }
        if let subject = Self.subject(.v070) {
            #expect(try Self.verdict("watch-burst", subject) == .pass)
            #expect(try Self.verdict("vxlan-kernel-entries", subject).cell == "N/A")
        }
    }

    /// The reservation's verdict is deterministic (`updateSubnet` always grants a lease). After
    /// the compaction 0.20.2 either panics at `Events[0]` of the empty response or, when its
    /// reconnected watch starts from "now", never sees the lease: the lease is missed either way.
    @Test("upstream 0.20.2 turns a reservation into a 24 h lease and misses a lease across a compaction")
    func upstream0202LosesReservationsAndCompactedWatches() throws {
        guard LabGate.requireRoot(), let subject = Self.subject(.v0202) else { return }
        let reservation = try Self.verdict("reservation", subject)
        guard case let .fail(_, _, happened) = reservation else { Issue.record("reservation: expected a failure, got \(reservation)"); return }
        #expect(happened.contains("TTL(86400s)"), "\(happened)")
        let compaction = try Self.verdict("watch-compaction", subject)
        guard case let .fail(check, _, missed) = compaction else { Issue.record("watch-compaction: expected a failure, got \(compaction)"); return }
        #expect(check.hasSuffix("route to 10.1.241.0/24") && missed.contains("the agent never programmed it"), "\(check): \(missed)")
        if missed.contains("agent exited") {
            #expect(missed.contains("panic: runtime error: index out of range [0] with length 0"), "\(missed)")
        }
        if let old = Self.subject(.v070) {
            #expect(try Self.verdict("reservation", old) == .pass)
            #expect(try Self.verdict("watch-compaction", old).cell == "N/A")
        }
    }

    /// nodeToLease formats its error with `*sn` while sn is nil (subnet/registry.go:400).
    @Test("upstream 0.7.0 panics at start on a key under subnets/ that is not a subnet")
    func upstream070PanicsOnAKeyThatIsNoSubnet() throws {
        guard LabGate.requireRoot(), let subject = Self.subject(.v070) else { return }
        let verdict = try Self.verdict("malformed-leases", subject)
        guard case let .fail(check, _, happened) = verdict else { Issue.record("expected a failure, got \(verdict)"); return }
        #expect(check.hasSuffix("agent starts") && happened.contains("nil pointer dereference (at subnet/registry.go:400)"), "\(check): \(happened)")
    }
}
