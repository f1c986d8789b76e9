import Agent
import Foundation
import NetnsLab
import Testing

/// S16 (lab only: it needs upstream's binaries): three hosts on upstream flannel move to our
/// agent one at a time while every container pings the next, then h2 moves back. Asserted per
/// swap: no subnet changes, etcd holds exactly one lease per host, pings resume within
/// `RollingMigration.resumeBound` (15 s); the longest gap per swap is printed for the record.
@Suite("S16 rolling migration (lab)", .serialized, .enabled(if: LabGate.shouldRun))
struct RollingMigrationLabTests {
    static let cases = MixedClusterLabTests.cases

    @Test(arguments: cases)
    func upstreamClusterMovesToOursAndBack(release: MixedClusterLabTests.Release, backend: String) throws {
        guard LabGate.requireRoot() else { return }
        guard FileManager.default.isExecutableFile(atPath: release.binary) else {
            if LabGate.isCI { Issue.record("\(release.binary) is missing; set FLANNEL_UPSTREAM_DIR to the folder holding flanneld-\(release.rawValue)") }
            return
        }
        let migration = RollingMigration(upstream: release.binary, ours: SeedPingTests.flanneld, etcdV2: release.usesV2, backend: backend)
        let report = try migration.run { print("S16 \(release.rawValue) \(backend): \($0)") }
        #expect(report.setupProblems.isEmpty, "\(report.setupProblems)")
        #expect(report.swaps.map { "\($0.host)→\($0.to)" } == ["h1→ours", "h2→ours", "h3→ours", "h2→upstream"])
        for swap in report.swaps {
            #expect(swap.problems.isEmpty, "\(swap)")
        }
    }
}
