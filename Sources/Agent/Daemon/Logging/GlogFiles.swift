#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// glog's log files in one directory: `flanneld.<host>.<user>.log.<SEVERITY>.<yyyymmdd-hhmmss>.<pid>`,
/// one per severity, each holding its severity and every one above it, made when its first
/// line comes, with the link `flanneld.<SEVERITY>` to the newest and glog's four header lines.
/// A file past `maximumBytes` is followed by a new one, as glog rotates at 1.8 GB. Lines are
/// written unbuffered: a crash loses none.
public final class GlogFiles: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let directory: String
    let program: String
    let maximumBytes: Int
    private let hostName: String
    private let userName: String
    private let processID: Int
    private let version: String
    private let state = Mutex<State>(State())

    private struct State {
        var files: [GlogSeverity: (descriptor: Int32, bytes: Int)] = [:]
        var lastFailure: String?
    }

    public init(directory: String, program: String = "flanneld", version: String = AgentVersion.current,
                maximumBytes: Int = 1800 * 1024 * 1024) {
        self.directory = directory
        self.program = program
        self.maximumBytes = maximumBytes
        self.version = version
        processID = Int(getpid())
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0 ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        // glog uses the short host name, and "unknownhost"/"unknownuser" when it has none.
        hostName = host.split(separator: ".").first.map(String.init) ?? "unknownhost"
        if let entry = getpwuid(geteuid()), let user = entry.pointee.pw_name {
            userName = String(cString: user)
        } else {
            userName = "unknownuser"
        }
    }

    deinit {
        state.withLock { state in
            for (_, file) in state.files { close(file.descriptor) }
        }
    }

    /// Opens the INFO file now, so that an unusable directory is reported at start-up with
    /// its reason, not at the first line.
    public func open() throws(Failure) {
        try state.withLock { state throws(Failure) in
            if state.files[.info] == nil { state.files[.info] = try create(.info, time: .now()) }
        }
    }

    /// Writes `line` to the files of `severity` and below. Returns the problem the first time
    /// writing fails (the caller reports it on standard error; logging never stops the agent)
    /// and whether this line failed to reach a file (the caller then sends it to standard error).
    @discardableResult
    public func write(_ line: String, severity: GlogSeverity, time: GlogLine.Time) -> (problem: String?, failed: Bool) {
        state.withLock { state in
            var problem: String?
            var failed = false
            for level in GlogSeverity.allCases where level <= severity {
                do throws(Failure) {
                    if let full = state.files[level], full.bytes >= maximumBytes {
                        // Forgotten before the next one is made: a failed create must not
                        // leave a closed (and maybe reused) descriptor behind.
                        state.files[level] = nil
                        close(full.descriptor)
                    }
                    var file: (descriptor: Int32, bytes: Int)
                    if let open = state.files[level] { file = open } else { file = try create(level, time: time) }
                    state.files[level] = file
                    file.bytes += try append(line, to: file.descriptor)
                    state.files[level] = file
                } catch {
                    failed = true
                    if state.lastFailure != error.description { problem = error.description }
                    state.lastFailure = error.description
                }
            }
            // Working again: the next failure, even with the same cause, is reported.
            if !failed { state.lastFailure = nil }
            return (problem, failed)
        }
    }

    /// The name glog gives the file of `severity` made at `time`.
    public func fileName(_ severity: GlogSeverity, time: GlogLine.Time) -> String {
        "\(program).\(hostName).\(userName).log.\(severity.name).\(time.fileStamp).\(processID)"
    }

    private func create(_ severity: GlogSeverity, time: GlogLine.Time) throws(Failure) -> (descriptor: Int32, bytes: Int) {
        let name = fileName(severity, time: time)
        let path = directory + "/" + name
        let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            throw Failure(description: "cannot create the log file \(path) (\(reason)); create the directory (mkdir -p \(directory)) and let flanneld write to it, or choose another with -log_dir")
        }
        // The link to the newest file, replaced whole (a reader never sees it missing).
        let link = directory + "/" + program + "." + severity.name
        let temporary = link + ".new.\(processID)"
        unlink(temporary)
        if symlink(name, temporary) == 0 && rename(temporary, link) != 0 { unlink(temporary) }
        let header = """
            Log file created at: \(time.headerStamp)
            Running on machine: \(hostName)
            Binary: flanneld \(version) (Swift) for linux
            Log line format: [IWEF]mmdd hh:mm:ss.uuuuuu threadid file:line] msg

            """
        do {
            return (descriptor, try append(header, to: descriptor))
        } catch {
            close(descriptor)
            throw error
        }
    }

    private func append(_ text: String, to descriptor: Int32) throws(Failure) -> Int {
        var bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeMutableBytes { buffer in
                Glibc.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "writing to a log file in \(directory) failed (\(String(cString: strerror(errno)))); logs go to standard error until it works again")
            }
            written += result
        }
        return written
    }
}
