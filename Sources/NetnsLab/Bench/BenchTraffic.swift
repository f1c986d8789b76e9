import Agent
import Foundation
import Synchronization

/// The traffic every bench sends: iperf3 servers, iperf3 runs, and a ping RTT sample.
enum BenchTraffic {
    static func startIperfServers(in namespaces: [Namespace], logDirectory: URL) throws {
        for namespace in namespaces {
            let server = BackgroundProcess(command: namespace.command(["iperf3", "-s", "--forceflush"]),
                                           logFile: logDirectory.appendingPathComponent("iperf3-\(namespace.name).log"))
            try server.start()
            try Poll.until("iperf3 to listen in \(namespace)", timeout: .seconds(10)) { server.log.contains("listening") }
        }
    }

    /// One iperf3 run; "the server is busy" (the previous test not yet torn down) is retried.
    static func iperf(from source: Namespace, to target: IPv4Address, seconds: Int, streams: Int) throws -> BenchProbes.IperfResult {
        var outcome: Result<BenchProbes.IperfResult, any Error> = .failure(BenchFailure(description: "iperf3 never ran"))
        try Poll.until("iperf3 to \(target) to find the server free", timeout: .seconds(20), interval: .milliseconds(500)) {
            let result = try source.run(["timeout", String(seconds + 30), "iperf3", "-c", target.description,
                                         "-t", String(seconds), "-P", String(streams), "-J", "--connect-timeout", "5000"])
            outcome = Result { try BenchProbes.iperf(json: result.stdout) }
            if case let .failure(error) = outcome, "\(error)".contains("busy") { return false }
            return true
        }
        return try outcome.get()
    }

    /// Seconds of quiet before a path's pings.
    static let settleBeforePing = 3.0
    /// 100 pings 50 ms apart, each given 2 s to come back; the target follows.
    static let pingArguments = ["ping", "-c", "100", "-i", "0.05", "-W", "2"]

    /// 100 pings 50 ms apart (an idle host's wake-ups, not a hot loop) after `settleBeforePing`
    /// of quiet: each reply's RTT in ms. The bench pools them over its passes (the udp bench
    /// judges its RTT target on `rttAtOnce` instead); one sample alone moves by tens of
    /// microseconds with what else the VM's CPUs did. Without the quiet, paths that start at
    /// once (the plain loop, the kernel's) were pinged seconds after the previous path's iperf3
    /// runs, while the VM still answered fast, and flanneld (slower to start) later: their
    /// medians differed by more than the paths did.
    static func rtt(from source: Namespace, to target: IPv4Address, over path: String) throws -> [Double] {
        Thread.sleep(forTimeInterval: settleBeforePing)
        let ping = try source.check(pingArguments + [target.description])
        let times = BenchProbes.pingTimes(ping.stdout)
        guard !times.isEmpty else {
            throw BenchFailure(description: "no replies in ping's output over \(path): \(ping.stdout.suffix(400))")
        }
        return times
    }

    /// Two ping runs from `source` at once, like `rtt`: `first` and `second` (each a target and
    /// the source address to ping from, nil: the default) each get 100 pings 50 ms apart, the
    /// second run started half an interval after the first, so their pings take turns nominally
    /// 25 ms apart (process start-up moves that by a few ms, far from the 0.3 ms an RTT lasts,
    /// so they do not overlap). Both paths see the same moments of the VM: its wake-up latency
    /// drifts by tens of microseconds over minutes, the same for both. Each run's RTTs in ms;
    /// a run that failed is reported with its path, both if both failed.
    static func rttAtOnce(from source: Namespace, first: (target: IPv4Address, from: IPv4Address?),
                          second: (target: IPv4Address, from: IPv4Address?), over paths: (String, String)) throws -> ([Double], [Double]) {
        Thread.sleep(forTimeInterval: settleBeforePing)
        func arguments(_ run: (target: IPv4Address, from: IPv4Address?)) -> [String] {
            pingArguments + (run.from.map { ["-I", $0.description] } ?? []) + [run.target.description]
        }
        let firstRun = Mutex<Result<CommandResult, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let firstArguments = arguments(first)
        DispatchQueue.global().async {
            let result = Result { try source.check(firstArguments) }
            firstRun.withLock { $0 = result }
            done.signal()
        }
        // The stagger, not a wait for anything: the first run's pings go out at 0, 50, 100 ms…
        Thread.sleep(forTimeInterval: 0.025)
        let secondResult = Result { try source.check(arguments(second)) }
        done.wait()
        var times: [[Double]] = []
        var failures: [String] = []
        for (result, path) in [(firstRun.withLock { $0 }!, paths.0), (secondResult, paths.1)] {
            switch result {
            case let .success(ping):
                let parsed = BenchProbes.pingTimes(ping.stdout)
                if parsed.isEmpty { failures.append("no replies in ping's output over \(path): \(ping.stdout.suffix(400))") }
                times.append(parsed)
            case let .failure(error):
                failures.append("ping over \(path) failed: \(error)")
            }
        }
        guard failures.isEmpty else { throw BenchFailure(description: failures.joined(separator: "; ")) }
        return (times[0], times[1])
    }
}
