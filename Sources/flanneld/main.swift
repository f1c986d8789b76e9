import Agent
import FoundationEssentials
import Glibc
import Logging

// flanneld: upstream's command line (`-flag` or `--flag`, FLANNELD_* fallback, glog's log
// flags), then the daemon. Exit 0 on SIGTERM/SIGINT, 1 with one clear line on a fatal error,
// 2 on bad flags or when no log directory is usable.
let environment = ProcessInfo.processInfo.environment

/// One line on standard error, before logging is set up.
func printToStandardError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { bytes in _ = Glibc.write(STDERR_FILENO, bytes.baseAddress, bytes.count) }
}

let commandLine: FlanneldCommandLine
do {
    commandLine = try FlanneldCommandLine.parse(Array(CommandLine.arguments.dropFirst()), environment: environment)
} catch let refused as FlanneldCommandLine.Refused {
    printToStandardError("flanneld: \(refused)")
    exit(2)
} catch where FlanneldOptions.exitCode(for: error) == .success {
    // -help: the usage, exit 0.
    FlanneldOptions.exit(withError: error)
} catch {
    // A bad flag: exit 2, as Go's flag package (argument-parser's own code would be 64).
    printToStandardError("flanneld: \(FlanneldOptions.fullMessage(for: error))")
    exit(2)
}
let options = commandLine.options
if options.version {
    print("flanneld \(AgentVersion.current) (Swift; etcd v3 and v2; udp, vxlan and host-gw backends)")
    exit(0)
}
if options.printFlags {
    for (name, value) in options.settings { print("\(name)=\(value)") }
    exit(0)
}

let logSettings = GlogSettings(options: options, environment: environment)
var logFiles: GlogFiles?
if logSettings.writesFiles {
    // As glog: -log_dir first, then the temporary directory; neither usable stops the agent.
    for directory in [logSettings.directory] + (logSettings.fallbackDirectory.map { [$0] } ?? []) {
        let files = GlogFiles(directory: directory)
        do {
            try files.open()
            logFiles = files
            break
        } catch {
            let next = directory == logSettings.directory ? logSettings.fallbackDirectory.map { "; logging to \($0) instead" } ?? "" : ""
            printToStandardError("flanneld: -log_dir: \(error)\(next)")
        }
    }
    if logFiles == nil { exit(2) }
}
LoggingSystem.bootstrap { [logFiles] _ in
    GlogLogHandler(level: logSettings.level, files: logFiles, standardErrorThreshold: logSettings.standardErrorThreshold)
}
let logger = Logger(label: "flanneld")
if let logFiles {
    logger.info("flanneld \(AgentVersion.current) logging to \(logFiles.directory) (level \(logSettings.level); \(logSettings.standardErrorThreshold.name) and above also to standard error)")
}
for note in commandLine.notes { logger.notice("\(note)") }
// Here, while flanneld has one thread: capabilities are per thread (see Capabilities).
if let privileges = Capabilities.dropAtStart(options: options) { logger.info("\(privileges)") }

do {
    try await FlanneldDaemon(options: options, environment: environment, logger: logger).run()
    exit(0)
} catch {
    logger.critical("\(error)")
    exit(1)
}
