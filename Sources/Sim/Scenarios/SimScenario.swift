import AgentCore

/// A scenario of `SCENARIOS.md`, expressed once: a name, its story, and the body that builds
/// the world, drives it and states what must be observed.
public struct SimScenario: Sendable {
    public let id: String
    public let name: String
    public let summary: String
    public let options: @Sendable (SimOptions) -> SimOptions
    let body: @Sendable (SimRun) -> Void

    public init(id: String, name: String, summary: String,
                options: @escaping @Sendable (SimOptions) -> SimOptions = { $0 },
                body: @escaping @Sendable (SimRun) -> Void) {
        self.id = id
        self.name = name
        self.summary = summary
        self.options = options
        self.body = body
    }

    /// Runs the scenario on `seed`.
    public func run(seed: UInt64, keepsTrace: Bool = true, adjusting adjust: (inout SimOptions) -> Void = { _ in }) -> SimRun {
        var settings = options(SimOptions())
        settings.keepsTrace = keepsTrace
        adjust(&settings)
        let run = SimRun(scenario: self, seed: seed, options: settings)
        run.world.record("scenario \(id) \(name), seed \(seed)")
        body(run)
        return run
    }

    public static func named(_ name: String) -> SimScenario? {
        (catalogue + [chaosWithBrokenAllocator, chaosWithBrokenKernelDeletes]).first { $0.name == name || $0.id.lowercased() == name.lowercased() }
    }
}
