/// The catalogue as `flannel-sim list` and `netns-lab scenario --list` print it: every
/// scenario, with the worlds that run it.
public enum ScenarioListing {
    static func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }

    public static func lines(for world: ClusterWorld) -> [String] {
        Scenario.catalogue.map { scenario in
            let mark = scenario.runs(in: world) ? " " : "-"
            return "\(mark) \(pad(scenario.id, 6)) \(pad(scenario.name, 24)) [\(scenario.worlds)] \(scenario.summary)"
        } + ["", "(-: runs in another world, as the brackets say; run one here with \(world == .simulator ? "flannel-sim run <id or name>" : "netns-lab scenario <id or name>"))"]
    }
}
