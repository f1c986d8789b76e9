import Agent
import ClusterScenarios
import Foundation

/// A ping left running while a scenario breaks something: `count` echoes `interval` apart
/// from a container, read when it is done (how many answered, the longest silence).
public struct BackgroundPing {
    public typealias Outcome = PingSeriesOutcome

    let process: BackgroundProcess
    let count: Int
    let interval: Duration

    public init(from namespace: Namespace, to address: IPv4Address, count: Int, interval: Duration, logFile: URL) throws {
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        try? FileManager.default.removeItem(at: logFile)
        process = BackgroundProcess(
            command: namespace.command(["ping", "-n", "-c", String(count), "-i", String(format: "%.3f", seconds), "-W", "1", address.description]),
            logFile: logFile)
        self.count = count
        self.interval = interval
        try process.start()
    }

    /// Waits for the last echo and reads the output.
    public func finish() throws -> Outcome {
        try Poll.until("the background ping to finish", timeout: interval * count + .seconds(10), interval: .milliseconds(200)) {
            !process.isRunning
        }
        return Self.parse(process.log, count: count, interval: interval)
    }

    /// What it has seen so far: no summary yet, so the echoes sent are counted up to the
    /// last answer, and a silence counts only once an answer has ended it.
    public var soFar: Outcome { Self.parse(process.log, count: nil, interval: interval) }

    /// Ends it now with SIGINT (ping prints its summary) and reads the output.
    public func interrupt() throws -> Outcome {
        if let pid = process.processIdentifier, process.isRunning { kill(pid, SIGINT) }
        try Poll.until("the background ping to stop", timeout: .seconds(5), interval: .milliseconds(50)) { !process.isRunning }
        return Self.parse(process.log, count: count, interval: interval)
    }

    /// Stops it early (a scenario that failed) without reading it.
    public func stop() { process.stop() }

    /// Replies are the "bytes from" lines (never "From … icmp_seq=N Destination Net
    /// Unreachable", which is an error, not an answer); the echoes sent come from the summary.
    static func parse(_ output: String, count: Int?, interval: Duration) -> Outcome {
        var answered = Set<Int>()
        for line in output.split(separator: "\n") where line.contains(" bytes from ") {
            guard let range = line.range(of: "icmp_seq=") else { continue }
            if let sequence = Int(line[range.upperBound...].prefix { $0.isNumber }) { answered.insert(sequence) }
        }
        var transmitted = count ?? (answered.max() ?? 0)
        if let range = output.range(of: " packets transmitted") {
            transmitted = Int(output[..<range.lowerBound].split(whereSeparator: { !$0.isNumber }).last.map(String.init) ?? "") ?? transmitted
        }
        return PingSeriesOutcome(answered: answered, transmitted: transmitted, interval: interval)
    }
}
