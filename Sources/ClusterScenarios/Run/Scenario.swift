/// A scenario of SCENARIOS.md, written once: its id, name and story, and either one body that
/// runs in every world (against `ClusterHarness`) or the one world that runs it and how.
public struct Scenario: Sendable, Identifiable, CustomStringConvertible {
    public enum Body: Sendable {
        /// Runs in every world with the same parameters.
        case shared(@Sendable (ScenarioRun) throws -> Void)
        /// Only `world` can run it (the simulator's scale or chaos, the lab's real tools);
        /// `how` says where it lives there.
        case only(ClusterWorld, how: String)
    }

    public let id: String
    public let name: String
    public let summary: String
    /// Hosts are interchangeable (which agents win a race is the world's chance): the outcome
    /// compares what the hosts hold, not who holds it.
    public let interchangeableHosts: Bool
    /// The etcd the world builds for it: one member, or a cluster; the v3 API or v2.
    public let etcd: ScenarioEtcd
    public let body: Body

    public init(id: String, name: String, summary: String, interchangeableHosts: Bool = false, etcd: ScenarioEtcd = ScenarioEtcd(),
                body: Body) {
        self.id = id
        self.name = name
        self.summary = summary
        self.interchangeableHosts = interchangeableHosts
        self.etcd = etcd
        self.body = body
    }

    public init(id: String, name: String, summary: String, interchangeableHosts: Bool = false, etcd: ScenarioEtcd = ScenarioEtcd(),
                _ shared: @escaping @Sendable (ScenarioRun) throws -> Void) {
        self.init(id: id, name: name, summary: summary, interchangeableHosts: interchangeableHosts, etcd: etcd, body: .shared(shared))
    }

    public var description: String { "\(id) \(name)" }

    /// Whether `world` runs it.
    public func runs(in world: ClusterWorld) -> Bool {
        switch body {
        case .shared: true
        case let .only(only, _): only == world
        }
    }

    public var isShared: Bool { if case .shared = body { true } else { false } }

    /// Where it runs, for the listings: "simulator, lab" or "lab only (netns-lab demo --walkthrough)".
    public var worlds: String {
        switch body {
        case .shared: "simulator, lab"
        case let .only(world, how): "\(world.rawValue) only (\(how))"
        }
    }

    /// Runs the shared body against `harness`; the report carries every check, where each
    /// ran, and the outcome the worlds are compared on. `progress` gets each line as it happens.
    public func run(on harness: any ClusterHarness, progress: @escaping (String) -> Void = { _ in }) -> ScenarioReport {
        let clock = ContinuousClock()
        let start = clock.now
        let run = ScenarioRun(scenario: self, harness: harness, progress: progress)
        progress("\(id) \(name) [\(harness.kind.rawValue)]: \(summary)")
        switch body {
        case let .shared(body):
            do {
                try body(run)
                run.recordOutcome()
                try harness.finish(run)
            } catch {
                run.stop(because: "\(error)")
            }
        case let .only(world, how):
            run.stop(because: "\(name) runs in the \(world.rawValue) only: \(how)")
        }
        var report = run.report
        report.duration = clock.now - start
        return report
    }

    /// Finds a scenario by id ("S4", "s4": the first with that id) or name ("subnet-taken-drift").
    public static func named(_ text: String) -> Scenario? {
        catalogue.first { $0.name == text } ?? catalogue.first { $0.id.lowercased() == text.lowercased() }
    }

    /// The scenarios every world runs.
    public static var shared: [Scenario] { catalogue.filter(\.isShared) }
}
