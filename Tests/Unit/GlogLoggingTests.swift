import Agent
import Foundation
import NetnsLab
import Testing

/// glog's log flags as a CentOS 7 sysconfig uses them: lines in glog's format, files named as
/// glog names them with the `flanneld.INFO`-style links, severities fanned out to their files,
/// `-stderrthreshold` and `-alsologtostderr`, `-v` as the level.
@Suite("glog logging")
struct GlogLoggingTests {
    static let time = GlogLine.Time(year: 2026, month: 12, day: 6, hour: 9, minute: 5, second: 7, microsecond: 42)

    static func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flannel-glog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func lineFormatIsGlogs() {
        let line = GlogLine.format(severity: .warning, time: Self.time, threadID: 4711, file: "Agent/Daemon/FlanneldDaemon.swift", line: 88, message: "peer removed")
        #expect(line == "W1206 09:05:07.000042    4711 FlanneldDaemon.swift:88] peer removed\n")
        #expect(Self.time.fileStamp == "20261206-090507")
        #expect(Self.time.headerStamp == "2026/12/06 09:05:07")
    }

    @Test func verbosityAndThresholds() throws {
        #expect(GlogSettings.level(verbosity: 0) == .info)
        #expect(GlogSettings.level(verbosity: 2) == .debug)
        #expect(GlogSettings.level(verbosity: 5) == .trace)
        #expect(GlogSettings(options: try FlanneldOptions.parseUpstream(["-v=0"], environment: [:]), environment: ["FLANNELD_LOG_LEVEL": "trace"]).level == .info,
                "-v wins over FLANNELD_LOG_LEVEL")
        #expect(GlogSettings(options: try FlanneldOptions.parseUpstream([], environment: [:]), environment: ["FLANNELD_LOG_LEVEL": "trace"]).level == .trace)
        let options = try FlanneldOptions.parseUpstream(["-logtostderr=false", "-v=3", "-stderrthreshold=1"], environment: [:])
        let settings = GlogSettings(options: options, environment: ["TMPDIR": "/var/tmp"])
        #expect(settings.writesFiles && settings.level == .debug && settings.standardErrorThreshold == .warning)
        #expect(settings.directory == "/var/tmp", "no -log_dir: $TMPDIR, as glog")
        let also = GlogSettings(options: try FlanneldOptions.parseUpstream(["-logtostderr=false", "-alsologtostderr"], environment: [:]), environment: [:])
        #expect(also.standardErrorThreshold == .info && also.directory == "/tmp")
        #expect(!GlogSettings(options: try FlanneldOptions.parseUpstream([], environment: [:]), environment: [:]).writesFiles,
                "standard error only by default, as upstream flanneld sets -logtostderr=true")
        #expect(throws: (any Error).self) { try FlanneldOptions.parseUpstream(["-stderrthreshold=LOUD"], environment: [:]) }
    }

    @Test func filesPerSeverityWithLinksHeadersAndRotation() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = GlogFiles(directory: directory.path, maximumBytes: 600)
        try files.open()
        files.write("I line one\n", severity: .info, time: Self.time)
        files.write("E line two\n", severity: .error, time: Self.time)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names.filter { !$0.contains(".log.") } == ["flanneld.ERROR", "flanneld.INFO", "flanneld.WARNING"], "\(names)")
        let info = try String(contentsOfFile: directory.appendingPathComponent("flanneld.INFO").path, encoding: .utf8)
        #expect(info.hasPrefix("Log file created at: "), "\(info)")
        #expect(info.contains("Log line format: [IWEF]mmdd hh:mm:ss.uuuuuu threadid file:line] msg\n"))
        #expect(info.hasSuffix("I line one\nE line two\n"), "INFO holds every severity: \(info)")
        let warning = try String(contentsOfFile: directory.appendingPathComponent("flanneld.WARNING").path, encoding: .utf8)
        #expect(warning.hasSuffix("Log line format: [IWEF]mmdd hh:mm:ss.uuuuuu threadid file:line] msg\nE line two\n"), "\(warning)")
        let target = try FileManager.default.destinationOfSymbolicLink(atPath: directory.appendingPathComponent("flanneld.ERROR").path)
        #expect(target.hasPrefix("flanneld.") && target.contains(".log.ERROR.20261206-090507.\(getpid())"), "\(target)")
        #expect(!target.hasPrefix("/"), "a relative link, as glog's")

        // Past the size limit a new file follows and the link moves to it.
        let later = GlogLine.Time(year: 2026, month: 12, day: 6, hour: 9, minute: 6, second: 0, microsecond: 0)
        for _ in 0..<8 { files.write(String(repeating: "x", count: 99) + "\n", severity: .info, time: later) }
        let infos = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".log.INFO.") }
        #expect(infos.count == 2, "\(infos)")
        let newest = try FileManager.default.destinationOfSymbolicLink(atPath: directory.appendingPathComponent("flanneld.INFO").path)
        #expect(newest.contains("20261206-090600"), "\(newest)")
    }

    @Test func unusableDirectoryIsAClearError() {
        let files = GlogFiles(directory: "/nonexistent/flannel-logs")
        #expect { try files.open() } throws: { "\($0)".contains("mkdir -p /nonexistent/flannel-logs") && "\($0)".contains("-log_dir") }
    }

    /// The binary, as a CentOS 7 sysconfig runs it: `-logtostderr=false -log_dir=DIR -v=2`. A
    /// renew margin out of range makes it exit 1 right after start-up, with a FATAL line.
    @Test func binaryWritesGlogFiles() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try CommandRunner.run([UpstreamFlagsTests.flanneld, "-logtostderr=false", "-log_dir=\(directory.path)", "-v=2",
                                            "-vmodule=main=3", "-subnet-lease-renew-margin=5000"])
        #expect(result.status == 1, "\(result.stderr)")
        let info = try String(contentsOfFile: directory.appendingPathComponent("flanneld.INFO").path, encoding: .utf8)
        #expect(info.contains("] flanneld \(AgentVersion.current) logging to \(directory.path)"), "\(info)")
        #expect(info.contains("-vmodule=main=3: accepted without effect"), "\(info)")
        let fatal = try String(contentsOfFile: directory.appendingPathComponent("flanneld.FATAL").path, encoding: .utf8)
        let fatalLines = fatal.split(separator: "\n").filter { $0.hasPrefix("F") }
        #expect(fatalLines.count == 1 && fatalLines.allSatisfy { $0.contains("out of range") || $0.contains("CAP_NET_ADMIN") }, "\(fatal)")
        // Standard error: only ERROR and above (glog's default -stderrthreshold).
        let standardError = result.stderr.split(separator: "\n")
        #expect(standardError.count == 1 && standardError[0].hasPrefix("F"), "\(result.stderr)")

        // -alsologtostderr: every line on standard error too; the link moves to the new run's file.
        let link = directory.appendingPathComponent("flanneld.INFO").path
        let firstTarget = try FileManager.default.destinationOfSymbolicLink(atPath: link)
        let again = try CommandRunner.run([UpstreamFlagsTests.flanneld, "-logtostderr=false", "-alsologtostderr", "-log_dir=\(directory.path)",
                                           "-subnet-lease-renew-margin=5000"])
        #expect(again.stderr.split(separator: "\n").first?.hasPrefix("I") == true, "\(again.stderr)")
        #expect(again.stderr.contains("logging to \(directory.path)"))
        let secondTarget = try FileManager.default.destinationOfSymbolicLink(atPath: link)
        #expect(secondTarget != firstTarget, "\(firstTarget) → \(secondTarget)")
        let newest = try String(contentsOfFile: directory.appendingPathComponent(secondTarget).path, encoding: .utf8)
        #expect(newest.contains(String(again.stderr.split(separator: "\n").last ?? "-")), "the link names the second run's file")
    }

    @Test func defaultIsStandardErrorInGlogFormat() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try CommandRunner.run([UpstreamFlagsTests.flanneld, "-subnet-lease-renew-margin=5000"], environment: ["TMPDIR": directory.path])
        #expect(result.status == 1)
        let last = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.hasPrefix("F") && last.contains("] "), "glog's line format: \(last)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty, "no files without -logtostderr=false")
    }

    /// As glog: an unusable -log_dir is said on standard error with the fix, and the files go to
    /// the temporary directory instead; with neither usable the agent does not start.
    @Test func unusableLogDirectoryFallsBackToTheTemporaryOne() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try CommandRunner.run([UpstreamFlagsTests.flanneld, "-logtostderr=false", "-log_dir=/nonexistent/flannel-logs",
                                            "-subnet-lease-renew-margin=5000"], environment: ["TMPDIR": directory.path])
        #expect(result.status == 1, "the run went on to its fatal error: \(result.stderr)")
        #expect(result.stderr.contains("mkdir -p /nonexistent/flannel-logs") && result.stderr.contains("logging to \(directory.path) instead"),
                "\(result.stderr)")
        let info = try String(contentsOfFile: directory.appendingPathComponent("flanneld.INFO").path, encoding: .utf8)
        #expect(info.contains("logging to \(directory.path)"), "\(info)")

        let neither = try CommandRunner.run([UpstreamFlagsTests.flanneld, "-logtostderr=false", "-log_dir=/nonexistent/flannel-logs"],
                                            environment: ["TMPDIR": "/nonexistent/tmp"])
        #expect(neither.status == 2, "\(neither.stderr)")
    }
}
