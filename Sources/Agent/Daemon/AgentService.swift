import ServiceLifecycle
import UnixSignals

/// The agent as a service of the daemon's group: runs the machine until it exits. SIGTERM and
/// SIGINT (or the group shutting down) become the machine's `stop`, which keeps the lease,
/// stops the data path and lets in-flight etcd calls end before returning: no timed exit.
struct AgentService: Service, CustomStringConvertible {
    let machine: AgentMachine
    let makeRunner: @Sendable (AsyncStream<AgentMachine.Event>.Continuation) -> AgentRunner

    init(machine: AgentMachine,
         makeRunner: @escaping @Sendable (AsyncStream<AgentMachine.Event>.Continuation) -> AgentRunner) {
        self.machine = machine
        self.makeRunner = makeRunner
    }

    var description: String { "flanneld agent" }

    func run() async throws {
        let (events, sink) = AsyncStream.makeStream(of: AgentMachine.Event.self)
        // Trapped before anything else runs, so that a stop during start-up is a clean exit too.
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let signalTask = Task {
            for await signal in signals { sink.yield(.stop(signal: "\(signal)")) }
        }
        defer { signalTask.cancel() }
        var machine = self.machine
        let runner = makeRunner(sink)
        try await withGracefulShutdownHandler {
            try await runner.run(&machine, events: events)
        } onGracefulShutdown: {
            sink.yield(.stop(signal: "a shutdown request"))
        }
    }
}
