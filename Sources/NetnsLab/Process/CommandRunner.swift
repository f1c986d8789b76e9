import Foundation

/// Runs external commands (ip, etcd, etcdctl, ping, ...) and captures their output.
/// Output goes through temporary files rather than pipes, so a chatty command can never
/// block on a full pipe while we wait for it.
public enum CommandRunner {
    /// Runs `arguments` (the first is looked up on PATH) to completion.
    /// After Ctrl-C nothing new starts, except cleanup (`duringCleanup`).
    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String]? = nil, duringCleanup: Bool = false) throws -> CommandResult {
        if !duringCleanup { try LabInterruption.check() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let directory = FileManager.default.temporaryDirectory
        let token = UUID().uuidString
        let outURL = directory.appendingPathComponent("fl-cmd-\(token).out")
        let errURL = directory.appendingPathComponent("fl-cmd-\(token).err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try? outHandle.close()
        try? errHandle.close()
        return CommandResult(
            command: arguments,
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    /// Runs and throws `CommandError` unless the command exits 0.
    @discardableResult
    public static func check(_ arguments: [String], environment: [String: String]? = nil) throws -> CommandResult {
        let result = try run(arguments, environment: environment)
        guard result.succeeded else { throw CommandError(result: result) }
        return result
    }

    /// Runs `arguments` with this process's stdout and stderr (output the user should see as
    /// it comes: ping, tcpdump). Returns the exit status. Ctrl-C and SIGTERM are passed on:
    /// the child runs in a process group of its own, which the terminal's signal misses.
    public static func passthrough(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        fflush(nil)
        try process.run()
        let pid = process.processIdentifier
        let forwarding = [SIGINT, SIGTERM].map { number -> DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { kill(pid, number) }
            source.resume()
            return source
        }
        process.waitUntilExit()
        forwarding.forEach { $0.cancel() }
        return process.terminationStatus
    }

    /// Whether `name` is an executable on PATH.
    public static func isInstalled(_ name: String) -> Bool {
        (try? run(["sh", "-c", "command -v \(name)"]))?.succeeded ?? false
    }
}
