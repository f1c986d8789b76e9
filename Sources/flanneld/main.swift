import Agent
import Foundation
import Logging

// flanneld: upstream's command line (`-flag` or `--flag`, FLANNELD_* fallback), then the
// daemon. Exit 0 on SIGTERM/SIGINT, 1 with one clear line on a fatal error, 2 on bad flags.
LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = ProcessInfo.processInfo.environment["FLANNELD_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    return handler
}
let logger = Logger(label: "flanneld")
let environment = ProcessInfo.processInfo.environment

let options: FlanneldOptions
do {
    options = try FlanneldOptions.parseUpstream(Array(CommandLine.arguments.dropFirst()), environment: environment)
} catch {
    FlanneldOptions.exit(withError: error)
}
if options.version {
    print("flanneld \(AgentVersion.current) (Swift; etcd v3, udp backend)")
    exit(0)
}
do {
    try await FlanneldDaemon(options: options, environment: environment, logger: logger).run()
    exit(0)
} catch {
    logger.critical("\(error)")
    exit(1)
}
