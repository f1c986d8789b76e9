import Foundation

/// A real etcd server for tests and the lab: free loopback ports, a temporary data dir,
/// readiness polled with `etcdctl endpoint health`, stopped and cleaned up by `stop()`.
public final class EtcdProcess: @unchecked Sendable {
    // @unchecked: the mutable state is only the Process handle, touched by start/stop from
    // one owner.
    public let clientURL: String
    public let dataDirectory: URL
    public let logFile: URL
    private let process: Process

    public struct StartFailure: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { "etcd did not start: \(reason)" }
    }

    /// Starts etcd and waits until it answers. `extraArguments` go to etcd as they are.
    public init(name: String = "fl-etcd", extraArguments: [String] = [], timeout: Duration = .seconds(20)) throws {
        guard CommandRunner.isInstalled("etcd") && CommandRunner.isInstalled("etcdctl") else {
            throw StartFailure(reason: "etcd or etcdctl is not installed; run lab/setup (apt packages etcd-server, etcd-client)")
        }
        let clientPort = try FreePort.allocate()
        var peerPort = try FreePort.allocate()
        while peerPort == clientPort { peerPort = try FreePort.allocate() }
        clientURL = "http://127.0.0.1:\(clientPort)"
        let peerURL = "http://127.0.0.1:\(peerPort)"
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        logFile = dataDirectory.appendingPathExtension("log")
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)

        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["etcd", "--name", name, "--data-dir", dataDirectory.path,
                             "--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
                             "--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
                             "--initial-cluster", "\(name)=\(peerURL)", "--log-level", "warn"] + extraArguments
        let log = try FileHandle(forWritingTo: logFile)
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        do {
            try Poll.until("etcd at \(clientURL) to answer", timeout: timeout, interval: .milliseconds(100)) {
                guard process.isRunning else {
                    let output = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
                    throw StartFailure(reason: "etcd exited with status \(process.terminationStatus): \(output.suffix(800))")
                }
                return (try? CommandRunner.run(["etcdctl", "--endpoints", clientURL, "--command-timeout=1s", "endpoint", "health"]))?.succeeded ?? false
            }
        } catch {
            stop()
            throw error
        }
    }

    /// Runs etcdctl (API v3) against this server.
    @discardableResult
    public func etcdctl(_ arguments: [String]) throws -> CommandResult {
        try CommandRunner.check(["etcdctl", "--endpoints", clientURL] + arguments, environment: ["ETCDCTL_API": "3"])
    }

    public var isRunning: Bool { process.isRunning }

    /// Stops etcd (SIGTERM, then SIGKILL after 5 s) and removes its data dir and log.
    public func stop() {
        if process.isRunning {
            process.terminate()
            let deadline = ContinuousClock.now + .seconds(5)
            while process.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: dataDirectory)
        try? FileManager.default.removeItem(at: logFile)
    }

    deinit { stop() }
}
