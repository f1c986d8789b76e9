import NetnsLab
import Testing

/// The lab scenarios of SCENARIOS.md (`LabScenario`, also `netns-lab scenario <name>`), each
/// check of each report asserted. One test per scenario, so a failure names it.
@Suite("lab scenarios", .serialized, .enabled(if: LabGate.shouldRun))
struct LabScenarioTests {
    func check(_ scenario: LabScenario) {
        guard LabGate.requireRoot() else { return }
        let report = scenario.run(flanneld: SeedPingTests.flanneld)
        #expect(report.error == nil, "\(report)")
        #expect(!report.checks.isEmpty, "\(report)")
        for check in report.checks {
            #expect(check.passed, "\(scenario): \(check.text)\n\(report)")
        }
    }

    @Test func s2RestartKeepsSubnet() { check(.restartKeepsSubnet) }
    @Test func s3ExpiredLeaseComesBack() { check(.expiredLeaseComesBack) }
    @Test func s4SubnetTakenDrift() { check(.subnetTakenDrift) }
    @Test func s6PeerLeaves() { check(.peerLeaves) }
    @Test func s7Reservation() { check(.reservation) }
    @Test func s8AllocationRace() { check(.allocationRace) }
    @Test func s9EtcdOutage() { check(.etcdOutage) }
    @Test func s10WatchCompaction() { check(.watchCompaction) }
    @Test func s15Partition() { check(.partition) }

    /// Every scenario of the lab's catalogue has a test above.
    @Test func everyScenarioHasATest() {
        #expect(LabScenario.catalogue.map(\.id) == ["S2", "S3", "S4", "S6", "S7", "S8", "S9", "S10", "S15"])
    }
}
