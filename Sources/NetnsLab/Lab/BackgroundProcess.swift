import Foundation
import Synchronization

/// A long-running process of the lab (etcd, an agent), with its output in a log file.
public final class BackgroundProcess: Sendable {
    public let command: [String]
    public let logFile: URL
    private let process: Mutex<Process?> = Mutex(nil)

    public init(command: [String], logFile: URL) {
        self.command = command
        self.logFile = logFile
    }

    public func start() throws {
        try LabInterruption.check()
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        child.arguments = command
        if !FileManager.default.fileExists(atPath: logFile.path) {
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        }
        let log = try FileHandle(forWritingTo: logFile)
        log.seekToEndOfFile()
        child.standardOutput = log
        child.standardError = log
        child.standardInput = FileHandle.nullDevice
        try child.run()
        process.withLock { $0 = child }
    }

    public var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }
    public var processIdentifier: Int32? { process.withLock { $0?.processIdentifier } }
    public var exitStatus: Int32? {
        process.withLock { child in
            guard let child, !child.isRunning else { return nil }
            return child.terminationStatus
        }
    }

    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// SIGKILL at once, as a crash would, and reap the process.
    public func kill() {
        guard let child = process.withLock({ $0 }), child.isRunning else { return }
        Foundation.kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
    }

    /// SIGTERM, then SIGKILL after `grace`. Returns how long the process took to exit.
    @discardableResult
    public func stop(grace: Duration = .seconds(3)) -> Duration {
        guard let child = process.withLock({ $0 }), child.isRunning else { return .zero }
        let clock = ContinuousClock()
        let start = clock.now
        Foundation.kill(child.processIdentifier, SIGTERM)
        while child.isRunning && clock.now - start < grace { Thread.sleep(forTimeInterval: 0.01) }
        if child.isRunning { Foundation.kill(child.processIdentifier, SIGKILL) }
        child.waitUntilExit()
        return clock.now - start
    }
}
