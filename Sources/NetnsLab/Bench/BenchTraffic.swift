import Agent
import Foundation

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

    /// The average of 60 pings 50 ms apart, in milliseconds (fewer leave a few tens of
    /// microseconds of noise between passes).
    static func rtt(from source: Namespace, to target: IPv4Address, over path: String) throws -> Double {
        let ping = try source.check(["ping", "-q", "-c", "60", "-i", "0.05", "-W", "2", target.description])
        guard let rtt = BenchProbes.pingAverage(ping.stdout) else {
            throw BenchFailure(description: "no RTT summary in ping's output over \(path): \(ping.stdout)")
        }
        return rtt
    }
}
