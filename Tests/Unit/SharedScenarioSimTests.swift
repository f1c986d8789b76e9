import ClusterScenarios
@testable import Sim
import Testing

/// The scenarios both worlds run (`Scenario.catalogue`), here in the simulator through
/// `SimCluster`: each passes on fixed seeds, and a second run of a seed is the same run.
/// The lab runs the same bodies in the integration tests and compares the outcomes.
@Suite("Shared scenarios in the simulator")
struct SharedScenarioSimTests {
    @Test(arguments: Scenario.shared.map(\.name))
    func passesAndIsDeterministic(name: String) throws {
        let scenario = try #require(Scenario.named(name))
        for seed: UInt64 in [1, 2, 3, 42] {
            let (report, first) = SimCluster.run(scenario, seed: seed)
            #expect(report.passed, "\(report)")
            #expect(report.outcome != nil, "\(report)")
            let (again, second) = SimCluster.run(scenario, seed: seed)
            #expect(second.world.trace.hash == first.world.trace.hash, "\(name) seed \(seed) is not deterministic")
            #expect(again.outcome == report.outcome)
        }
    }

    @Test func oneCatalogueNamesEveryScenarioAndTheWorldsThatRunIt() {
        let ids = Set(Scenario.catalogue.map(\.id))
        #expect(ids.isSuperset(of: (1...15).map { "S\($0)" }), "S1–S15 are all in the catalogue: \(ids.sorted())")
        #expect(Set(Scenario.catalogue.map(\.name)).count == Scenario.catalogue.count, "names are unique")
        #expect(Scenario.shared.map(\.id) == ["S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S10", "S11", "S12", "S12", "S20", "S15", "S17",
                                                  "S18", "S18", "S18", "S19", "S19", "S21", "S21"])
        // What only the simulator runs is its own scenario, by the same name; nothing shared is written twice.
        for scenario in Scenario.catalogue where !scenario.isShared && scenario.runs(in: .simulator) && scenario.id != "S13" {
            #expect(SimScenario.named(scenario.name) != nil, "\(scenario.name) has no simulator body")
        }
        for simOnly in SimScenario.catalogue {
            #expect(Scenario.named(simOnly.name)?.isShared == false, "\(simOnly.name) is listed as simulator-only in the catalogue")
        }
        let simList = ScenarioListing.lines(for: .simulator), labList = ScenarioListing.lines(for: .lab)
        #expect(simList.count == labList.count, "both worlds list the same catalogue")
        #expect(labList.contains { $0.hasPrefix("- S13") && $0.contains("[simulator only (flannel-sim bench") })
    }

    @Test func aCheckOnlyTheOtherWorldCanMakeIsListedNotFailed() throws {
        let (report, _) = SimCluster.run(Scenario.subnetTakenDrift, seed: 1)
        #expect(report.passed)
        #expect(report.skipped.count == 1 && report.skipped[0].contains("/metrics") && report.skipped[0].contains("needs metrics"))
        #expect(report.description.contains("  – not in the simulator: h2's /metrics counts the drift"))
        let outcome = try #require(report.outcome)
        #expect(outcome.hosts.map(\.subnet) == ["A", "C", "B"] && outcome.hosts[1].drifts == ["B→C"], "\(outcome.lines)")
    }
}
