import ArgumentParser
import Logging

/// glog's severities, each with its own log file (`flanneld.INFO`, …): a file holds its
/// severity and every one above it.
public enum GlogSeverity: Int, CaseIterable, Comparable, Sendable, ExpressibleByArgument {
    case info = 0, warning, error, fatal

    /// `INFO`, `WARNING`, `ERROR`, `FATAL`: in file names and `-stderrthreshold`.
    public var name: String {
        switch self {
        case .info: "INFO"
        case .warning: "WARNING"
        case .error: "ERROR"
        case .fatal: "FATAL"
        }
    }

    /// The first letter of a glog line.
    public var letter: Character { name.first! }

    /// As glog's `-stderrthreshold`: a name in any case, or its number.
    public init?(argument: String) {
        if let number = Int(argument), let severity = GlogSeverity(rawValue: number) {
            self = severity
        } else if let severity = Self.allCases.first(where: { $0.name == argument.uppercased() }) {
            self = severity
        } else {
            return nil
        }
    }

    public static var allValueStrings: [String] { allCases.map(\.name) }

    /// swift-log's levels on glog's: trace, debug, info and notice are INFO; critical (what
    /// flanneld logs just before exiting on a fatal error) is FATAL.
    public init(_ level: Logger.Level) {
        switch level {
        case .trace, .debug, .info, .notice: self = .info
        case .warning: self = .warning
        case .error: self = .error
        case .critical: self = .fatal
        }
    }

    public static func < (lhs: GlogSeverity, rhs: GlogSeverity) -> Bool { lhs.rawValue < rhs.rawValue }
}
