/// What only the simulator runs, with its world at hand: chaos over random clusters. The
/// scenarios of SCENARIOS.md (`Scenario.catalogue` in ClusterScenarios) run here through
/// `SimCluster`.
extension SimScenario {
    public static let catalogue: [SimScenario] = [chaos, chaosDualStack]

    public static let shortLeases: @Sendable (SimOptions) -> SimOptions = { options in
        var options = options
        options.leaseTTL = .seconds(60)
        options.renewMargin = .seconds(30)
        return options
    }
}
