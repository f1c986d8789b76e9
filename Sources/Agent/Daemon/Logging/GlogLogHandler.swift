#if canImport(Glibc)
import Glibc
#endif
import Logging

/// swift-log's handler for flanneld: glog's line format on standard error and, with
/// `-logtostderr=false`, in glog's files (`GlogFiles`), as upstream flanneld logs.
public struct GlogLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let files: GlogFiles?
    let standardErrorThreshold: GlogSeverity

    public init(level: Logger.Level, files: GlogFiles?, standardErrorThreshold: GlogSeverity) {
        logLevel = level
        self.files = files
        self.standardErrorThreshold = standardErrorThreshold
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let severity = GlogSeverity(event.level)
        var message = event.message.description
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        if !merged.isEmpty {
            message += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        let time = GlogLine.Time.now()
        let line = GlogLine.format(severity: severity, time: time, threadID: Int(getpid()), file: event.file, line: event.line, message: message)
        if let files {
            let (problem, failed) = files.write(line, severity: severity, time: time)
            if let problem { Self.standardError("flanneld: \(problem)\n") }
            if failed || severity >= standardErrorThreshold { Self.standardError(line) }
        } else {
            Self.standardError(line)
        }
    }

    /// One write(2) per line: lines from several threads never interleave mid-line.
    static func standardError(_ text: String) {
        var bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress! + written, $0.count - written) }
            if result < 0 && errno == EINTR { continue }
            if result <= 0 { return }
            written += result
        }
    }
}
