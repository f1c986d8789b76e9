import Logging

/// Where flanneld's logs go and how much of them, from glog's flags as upstream flanneld
/// takes them: standard error only (the default, as upstream sets `-logtostderr=true`), or
/// files in `-log_dir` named as glog names them, with `-alsologtostderr` and
/// `-stderrthreshold` deciding what also reaches standard error.
public struct GlogSettings: Sendable, Equatable {
    /// swift-log's level from `-v` (else `FLANNELD_LOG_LEVEL`, which names a level outright).
    public var level: Logger.Level
    /// Log files are written (`-logtostderr=false`).
    public var writesFiles: Bool
    /// The directory for the files: `-log_dir`, else `$TMPDIR`, else /tmp (glog's order).
    public var directory: String
    /// Where files go when `-log_dir` cannot take them: the temporary directory, as glog
    /// falls back (nil when `-log_dir` was not given: `directory` is that already).
    public var fallbackDirectory: String?
    /// With files: lines at or above this severity also go to standard error (every line with
    /// `-alsologtostderr`).
    public var standardErrorThreshold: GlogSeverity

    public init(options: FlanneldOptions, environment: [String: String]) {
        // -v (or FLANNELD_V) wins; FLANNELD_LOG_LEVEL names a level outright when -v is not given.
        if let verbosity = options.verbosity {
            level = Self.level(verbosity: verbosity)
        } else if let named = environment["FLANNELD_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) {
            level = named
        } else {
            level = .info
        }
        writesFiles = !options.logToStandardError
        let temporary = environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        directory = options.logDirectory.isEmpty ? temporary : options.logDirectory
        fallbackDirectory = options.logDirectory.isEmpty ? nil : temporary
        standardErrorThreshold = options.alsoLogToStandardError ? .info : options.standardErrorThreshold
    }

    /// glog's `-v`: 0 shows info and up; flanneld's debug lines (a renewal, a resync that found
    /// nothing) from 1; trace from 5.
    public static func level(verbosity: Int) -> Logger.Level {
        switch verbosity {
        case ...0: .info
        case 1...4: .debug
        default: .trace
        }
    }
}
