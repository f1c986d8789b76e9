import ArgumentParser
import BenchRecord
import ClusterScenarios
import Foundation
import Sim

/// The simulator's command line: scenarios on seeds, chaos over seed ranges.
@main
struct FlannelSimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flannel-sim",
        abstract: "The deterministic flannel world: scenarios on virtual time, every random choice from one seed.",
        subcommands: [List.self, Run.self, Chaos.self, Bench.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The scenarios (one catalogue with netns-lab), with what each must show and where it runs.")

        func run() {
            for line in ScenarioListing.lines(for: .simulator) { print(line) }
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
            guard let chosen = Scenario.named(scenario) else {
                throw ValidationError("no scenario \(scenario); `flannel-sim list` shows them: \(Scenario.catalogue.map(\.name).joined(separator: ", "))")
            }
            guard chosen.runs(in: .simulator) else {
                throw ValidationError("\(chosen.name) runs in the \(chosen.worlds)")
            }
            if chosen.isShared {
                let (first, cluster) = SimCluster.run(chosen, seed: seed)
                if trace { print(cluster.world.trace.lines.joined(separator: "\n")) }
                print(first.description)
                let (_, again) = SimCluster.run(chosen, seed: seed)
                try checkDeterministic(cluster.world.trace, again.world.trace)
                if !first.passed { throw ExitCode(1) }
            } else {
                guard let simOnly = SimScenario.named(chosen.name) else { throw ValidationError("\(chosen.name): \(chosen.worlds)") }
                let first = simOnly.run(seed: seed)
                if trace { print(first.world.trace.lines.joined(separator: "\n")) }
                print(first.report.description)
                try checkDeterministic(first.world.trace, simOnly.run(seed: seed).world.trace)
                if !first.passed { throw ExitCode(1) }
            }
        }

        func checkDeterministic(_ first: SimTrace, _ second: SimTrace) throws {
            guard second.hash == first.hash else {
                print("NOT DETERMINISTIC: a second run of seed \(seed) gave hash \(second.hashText), the first \(first.hashText)")
                throw ExitCode(3)
            }
            print("deterministic: a second run gave the same \(first.count) trace lines (hash \(first.hashText))")
        }
    }

    struct Chaos: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Random faults over random clusters, one run per seed, judged by the invariants.")

        @Option(help: "Seeds as A..B (inclusive)")
        var seeds = "1..200"

        @Flag(help: "Use the deliberately broken allocator (ignores other hosts' leases): the invariants must catch it")
        var brokenAllocator = false

        @Flag(help: "Use a deliberately broken kernel model (route, neighbour and fdb deletions ignored): the invariants must catch it")
        var brokenKernelDeletes = false

        @Flag(help: "Dual-stack networks (vxlan or host-gw with EnableIPv6): both families judged")
        var dualStack = false

        func validate() throws {
            guard !(brokenAllocator && brokenKernelDeletes) else {
                throw ValidationError("--broken-allocator and --broken-kernel-deletes: pick one breakage at a time")
            }
            guard !(dualStack && (brokenAllocator || brokenKernelDeletes)) else {
                throw ValidationError("--dual-stack runs the real agent only; leave out --broken-allocator and --broken-kernel-deletes")
            }
        }

        func run() throws {
            let parts = seeds.components(separatedBy: "..")
            guard parts.count == 2, let low = UInt64(parts[0]), let high = UInt64(parts[1]), low <= high else {
                throw ValidationError("--seeds must look like 1..200, got \(seeds)")
            }
            let scenario = brokenAllocator ? SimScenario.chaosWithBrokenAllocator
                : brokenKernelDeletes ? SimScenario.chaosWithBrokenKernelDeletes
                : dualStack ? SimScenario.chaosDualStack : SimScenario.chaos
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

    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "S13: N hosts join 10.0.0.0/8 and live for hours with churn; wall time, simulated s per wall s, etcd requests, convergence, memory.",
            discussion: "Build with `swift build -c release` first. The table is recorded in --record (BENCHMARKS.md: the latest run replaced, a row per size added to the history).")

        @Option(help: "Cluster sizes, comma-separated")
        var hosts = "1000,10000"

        @Option(help: "Simulated hours")
        var hours = 24

        @Option(help: "The seed")
        var seed: UInt64 = 1

        @Option(help: "Markdown file the results are recorded in")
        var record = "BENCHMARKS.md"

        @Flag(help: "Print only; do not record in --record")
        var noRecord = false

        func run() throws {
            let sizes = hosts.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !sizes.isEmpty, sizes.allSatisfy({ (1...60_000).contains($0) }) else {
                throw ValidationError("--hosts must be sizes between 1 and 60000, comma-separated, got \(hosts)")
            }
            guard (1...240).contains(hours) else { throw ValidationError("--hours must be 1…240, got \(hours)") }
            var rows: [String] = []
            // The headline figures of each size: its rows in the record's History.
            var historyRows: [[String]] = []
            let clock = ContinuousClock()
            for size in sizes {
                let start = clock.now
                let scale = SimScaleRun(hosts: size, hours: hours, seed: seed)
                let outcome = scale.run { hour, run in
                    if hour == 1 || hour % 6 == 0 || hour == hours {
                        print("  \(size) hosts: hour \(hour)/\(hours) simulated after \(Self.seconds(clock.now - start)) s wall, \(run.world.statistics.etcdRequests) etcd requests")
                    }
                }
                let wall = Self.seconds(clock.now - start)
                let simulated = Self.seconds(outcome.simulated)
                let (wallText, peakMemory) = (String(format: "%.1f s", wall), Self.peakMemory())
                let row = String(format: "| %d | %d h | %@ | %.0f | %.1f | %@ | %d | %@ | %@ |",
                                 size, hours, wallText, simulated / max(wall, 0.001), outcome.requestsPerHostHour,
                                 outcome.convergence.map { String(format: "%.0f s", Self.seconds($0)) } ?? "not within 1 h",
                                 outcome.liveLeases, peakMemory, outcome.violations.isEmpty ? "none" : "\(outcome.violations.count): \(outcome.violations[0])")
                print(row)
                rows.append(row)
                historyRows.append(["\(size)", "\(hours) h", wallText, peakMemory, outcome.violations.isEmpty ? "none" : "\(outcome.violations.count)"])
            }
            let run = BenchmarkRun(
                date: Date().formatted(.iso8601), commit: Self.commit(besides: record),
                command: "flannel-sim bench --hosts \(hosts) --hours \(hours) --seed \(seed)",
                machine: "\(Self.buildConfiguration) build, \(ProcessInfo.processInfo.activeProcessorCount) CPUs, one thread",
                results: """
                    Hosts join 10.0.0.0/8 (/24 subnets) over the first 5 minutes, 24 h TTL; every hour 2 % of the agents crash
                    and return a minute later, 1 % leave for good and as many new hosts join. Convergence: until every agent
                    holds a lease and sees every other. Peak memory is the process's (VmHWM) after that size ran.

                    | hosts | simulated | wall | simulated s per wall s | etcd requests per host per hour | convergence | live leases at the end | peak memory | broken invariants |
                    |---|---|---|---|---|---|---|---|---|
                    \(rows.joined(separator: "\n"))
                    """)
            print("")
            let benchmark = RecordedBenchmark.simulatorScale
            print("## \(benchmark.section)\n\n\(run.latest)")
            guard !noRecord else { return }
            let url = URL(fileURLWithPath: record)
            let exists = FileManager.default.fileExists(atPath: url.path)
            let old = exists ? try String(contentsOf: url, encoding: .utf8) : BenchmarkRecord.emptyDocument
            let new = benchmark.recording(run, figures: historyRows, in: old)
            // Rewritten in place rather than replaced, so the file keeps its owner and permissions.
            if exists {
                let handle = try FileHandle(forWritingTo: url)
                try handle.truncate(atOffset: 0)
                try handle.write(contentsOf: Data(new.utf8))
                try handle.close()
            } else {
                try new.write(to: url, atomically: true, encoding: .utf8)
            }
            print("recorded in \(url.path): the latest \(benchmark.section) run, and a row per size in its history")
        }

        /// The commit of the repository holding the record, if git can tell (`safe.directory`: the
        /// tree may belong to another user).
        static func commit(besides record: String) -> String? {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["git", "-c", "safe.directory=*", "-C", URL(fileURLWithPath: record).deletingLastPathComponent().path,
                                 "rev-parse", "--short", "HEAD"]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { return nil }
            let answer = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { return nil }
            return String(decoding: answer, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        static func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }

        static func peakMemory() -> String {
            let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            let kilobytes = line.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) }
            return kilobytes.map { String(format: "%.0f MB", Double($0) / 1024) } ?? "?"
        }

        static var buildConfiguration: String {
            #if DEBUG
            "debug"
            #else
            "release"
            #endif
        }
    }
}
