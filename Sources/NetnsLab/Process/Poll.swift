import Foundation

/// Waiting for something to become true, with a deadline: the lab never sleeps a fixed time
/// and hopes.
public enum Poll {
    public struct TimedOut: Error, CustomStringConvertible {
        public var what: String
        public var after: Duration
        public var description: String { "timed out after \(after) waiting for \(what)" }
        public init(what: String, after: Duration) {
            self.what = what
            self.after = after
        }
    }

    /// Calls `condition` every `interval` until it returns true or `timeout` passes.
    public static func until(_ what: String, timeout: Duration, interval: Duration = .milliseconds(50),
                             _ condition: () throws -> Bool) throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            try LabInterruption.check()
            if try condition() { return }
            guard clock.now < deadline else { throw TimedOut(what: what, after: timeout) }
            Thread.sleep(forTimeInterval: Double(interval.components.attoseconds) / 1e18 + Double(interval.components.seconds))
        }
    }
}
