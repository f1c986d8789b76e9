import ClusterScenarios
import NetnsLab
import Sim
import Testing

/// Every shared scenario of SCENARIOS.md in both worlds: the lab (real namespaces, etcd and
/// flanneld; also `netns-lab scenario <name>`) and the simulator (`flannel-sim run <name>`),
/// same body, same parameters. Each world's report must pass, and the outcomes must be the
/// same: who holds which subnet, the drifts, who reaches whom with which TTL.
@Suite("shared scenarios, lab and simulator", .serialized, .enabled(if: LabGate.shouldRun))
struct LabScenarioTests {
    @Test(arguments: Scenario.shared.map(\.name))
    func sameOutcomeInBothWorlds(name: String) throws {
        guard LabGate.requireRoot() else { return }
        let scenario = try #require(Scenario.named(name))
        let lab = LabCluster.run(scenario, flanneld: SeedPingTests.flanneld)
        #expect(lab.passed, "\(lab)")
        for check in lab.checks where !check.passed {
            Issue.record("lab: \(scenario): \(check.text)")
        }
        let (simulated, _) = SimCluster.run(scenario, seed: 1)
        #expect(simulated.passed, "\(simulated)")
        let labOutcome = try #require(lab.outcome, "\(lab)")
        #expect(labOutcome == simulated.outcome,
                "\(scenario): the worlds disagree\nlab:\n\(labOutcome.lines.joined(separator: "\n"))\nsimulator:\n\(simulated.outcome?.lines.joined(separator: "\n") ?? "none")")
        // The same checks ran in both, apart from those a world cannot make.
        #expect(lab.checks.count + lab.skipped.count == simulated.checks.count + simulated.skipped.count - 1,
                "lab \(lab.checks.count)+\(lab.skipped.count), simulator \(simulated.checks.count)+\(simulated.skipped.count) (its invariants check included)")
    }
}
