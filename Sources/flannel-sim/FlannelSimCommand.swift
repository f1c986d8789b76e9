import ArgumentParser
import Foundation
import Sim

/// The simulator's command line: scenarios on seeds, chaos over seed ranges.
@main
struct FlannelSimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flannel-sim",
        abstract: "The deterministic flannel world: scenarios on virtual time, every random choice from one seed.",
        subcommands: [List.self, Run.self, Chaos.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The scenarios, with what each must show.")

        func run() {
            for scenario in SimScenario.catalogue {
                print("\(scenario.id.padding(toLength: 6, withPad: " ", startingAt: 0)) \(scenario.name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(scenario.summary)")
            }
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run one scenario on one seed (twice, to check it is deterministic).")

        @Argument(help: "A scenario name or id (see `flannel-sim list`), e.g. seed-ping or S1")
        var scenario: String

        @Option(help: "The seed")
        var seed: UInt64 = 1

        @Flag(help: "Print the whole trace")
        var trace = false

        func run() throws {
            guard let chosen = SimScenario.named(scenario) else {
                throw ValidationError("no scenario \(scenario); `flannel-sim list` shows them: \(SimScenario.catalogue.map(\.name).joined(separator: ", "))")
            }
            let first = chosen.run(seed: seed)
            if trace { print(first.world.trace.lines.joined(separator: "\n")) }
            print(first.summary)
            let second = chosen.run(seed: seed)
            guard second.world.trace.hash == first.world.trace.hash else {
                print("NOT DETERMINISTIC: a second run of seed \(seed) gave hash \(second.world.trace.hashText)")
                throw ExitCode(3)
            }
            print("deterministic: a second run gave the same \(first.world.trace.count) trace lines (hash \(first.world.trace.hashText))")
            if !first.passed { throw ExitCode(1) }
        }
    }

    struct Chaos: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Random faults over random clusters, one run per seed, judged by the invariants.")

        @Option(help: "Seeds as A..B (inclusive)")
        var seeds = "1..200"

        @Flag(help: "Use the deliberately broken allocator (ignores other hosts' leases): the invariants must catch it")
        var brokenAllocator = false

        func run() throws {
            let parts = seeds.components(separatedBy: "..")
            guard parts.count == 2, let low = UInt64(parts[0]), let high = UInt64(parts[1]), low <= high else {
                throw ValidationError("--seeds must look like 1..200, got \(seeds)")
            }
            let scenario = brokenAllocator ? SimScenario.chaosWithBrokenAllocator : SimScenario.chaos
            var failed: [UInt64] = []
            let clock = ContinuousClock()
            let start = clock.now
            for seed in low...high {
                let run = scenario.run(seed: seed, keepsTrace: false)
                if !run.passed {
                    failed.append(seed)
                    print(run.summary)
                }
                if (seed - low + 1) % 50 == 0 { print("… \(seed - low + 1) of \(high - low + 1) seeds, \(failed.count) failed") }
            }
            print("chaos: \(high - low + 1) seeds, \(failed.count) failed\(failed.isEmpty ? "" : ": \(failed.map(String.init).joined(separator: ", "))") in \(clock.now - start)")
            if !failed.isEmpty { throw ExitCode(1) }
        }
    }
}
