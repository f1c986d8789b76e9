import NetnsLab
import Sim
import Testing

/// The lab runs the simulator's scenarios under the same ids and names (and stories): each
/// lab scenario is in the simulator's catalogue and passes there.
@Suite struct LabAndSimulatorScenarioTests {
    @Test(arguments: LabScenario.catalogue.map(\.id))
    func theLabScenarioPassesInTheSimulator(_ id: String) throws {
        let lab = try #require(LabScenario.catalogue.first { $0.id == id })
        let sim = try #require(SimScenario.catalogue.first { $0.id == id }, "\(id) is not in the simulator's catalogue")
        #expect(sim.name == lab.name, "\(id): the lab calls it \(lab.name), the simulator \(sim.name)")
        let result = sim.run(seed: 1)
        #expect(result.passed, "\(id) \(sim.name) fails in the simulator: \(result.summary)")
    }
}
