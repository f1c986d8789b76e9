import Agent
import Foundation
import Logging

// flanneld: upstream's command line (`-flag` or `--flag`, FLANNELD_* fallback, glog's log
// flags), then the daemon. Exit 0 on SIGTERM/SIGINT, 1 with one clear line on a fatal error,
// 2 on bad flags or an unusable -log_dir.
let environment = ProcessInfo.processInfo.environment

let commandLine: FlanneldCommandLine
do {
    commandLine = try FlanneldCommandLine.parse(Array(CommandLine.arguments.dropFirst()), environment: environment)
} catch let refused as FlanneldCommandLine.Refused {
    FileHandle.standardError.write(Data("flanneld: \(refused)\n".utf8))
    exit(2)
} catch {
    FlanneldOptions.exit(withError: error)
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
    let files = GlogFiles(directory: logSettings.directory)
    do {
        try files.open()
    } catch {
        FileHandle.standardError.write(Data("flanneld: -log_dir: \(error)\n".utf8))
        exit(2)
    }
    logFiles = files
}
LoggingSystem.bootstrap { [logFiles] _ in
    GlogLogHandler(level: logSettings.level, files: logFiles, standardErrorThreshold: logSettings.standardErrorThreshold)
}
let logger = Logger(label: "flanneld")
if let logFiles {
    logger.info("flanneld \(AgentVersion.current) logging to \(logFiles.directory) (level \(logSettings.level); \(logSettings.standardErrorThreshold.name) and above also to standard error)")
}
for note in commandLine.notes { logger.notice("\(note)") }

do {
    try await FlanneldDaemon(options: options, environment: environment, logger: logger).run()
    exit(0)
} catch {
    logger.critical("\(error)")
    exit(1)
}
