import Foundation
import Synchronization

/// A real etcd server for tests and the lab: free loopback ports, a temporary data dir,
/// readiness polled with `etcdctl endpoint health`. It can be stopped and started again on
/// the same ports and data (outage scenarios), and `remove()` cleans everything up.
public final class EtcdProcess: Sendable {
    public struct Options: Sendable {
        /// Serve clients over TLS with these certificates (and require client certificates).
        public var tls: TestCertificates?
        public var clientCertAuth: Bool
        /// Serve the v2 API too (the walkthrough's etcdctl v2 commands).
        public var enableV2: Bool
        public var extraArguments: [String]

        public init(tls: TestCertificates? = nil, clientCertAuth: Bool = true, enableV2: Bool = false, extraArguments: [String] = []) {
            self.tls = tls
            self.clientCertAuth = clientCertAuth
            self.enableV2 = enableV2
            self.extraArguments = extraArguments
        }
    }

    public struct StartFailure: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { "etcd did not start: \(reason)" }
    }

    public let name: String
    public let options: Options
    public let clientPort: Int
    public let peerPort: Int
    public let dataDirectory: URL
    public let logFile: URL
    private let process = Mutex<BackgroundProcess?>(nil)
    /// "user:password" for etcdctl once auth is enabled.
    private let adminCredentials = Mutex<String?>(nil)

    public var clientURL: String { "\(options.tls == nil ? "http" : "https")://127.0.0.1:\(clientPort)" }
    private var peerURL: String { "http://127.0.0.1:\(peerPort)" }

    /// Starts etcd and waits until it answers.
    public init(name: String = "fl-etcd", options: Options = Options(), timeout: Duration = .seconds(20)) throws {
        guard CommandRunner.isInstalled("etcd") && CommandRunner.isInstalled("etcdctl") else {
            throw StartFailure(reason: "etcd or etcdctl is not installed; run lab/setup (apt packages etcd-server, etcd-client)")
        }
        self.name = name
        self.options = options
        clientPort = try FreePort.allocate()
        var peer = try FreePort.allocate()
        while peer == clientPort { peer = try FreePort.allocate() }
        peerPort = peer
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        logFile = dataDirectory.appendingPathExtension("log")
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        do {
            try start(timeout: timeout)
        } catch {
            remove()
            throw error
        }
    }

    /// Starts the server again on the same ports and data (after `stop()` or `kill()`).
    public func start(timeout: Duration = .seconds(20)) throws {
        let running = process.withLock { $0?.isRunning ?? false }
        guard !running else { return }
        var arguments = ["etcd", "--name", name, "--data-dir", dataDirectory.path,
                         "--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
                         "--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
                         "--initial-cluster", "\(name)=\(peerURL)", "--log-level", "warn"]
        if let tls = options.tls {
            arguments += ["--cert-file", tls.serverCertFile, "--key-file", tls.serverKeyFile, "--trusted-ca-file", tls.caFile]
            if options.clientCertAuth { arguments.append("--client-cert-auth") }
        }
        if options.enableV2 { arguments.append("--enable-v2") }
        arguments += options.extraArguments

        let child = BackgroundProcess(command: arguments, logFile: logFile)
        try child.start()
        process.withLock { $0 = child }
        do {
            try Poll.until("etcd at \(clientURL) to answer", timeout: timeout, interval: .milliseconds(100)) {
                guard child.isRunning else {
                    throw StartFailure(reason: "etcd exited with status \(child.exitStatus ?? -1): \(child.log.suffix(800))")
                }
                return (try? CommandRunner.run(etcdctlCommand(["--command-timeout=1s", "endpoint", "health"])))?.succeeded ?? false
            }
        } catch {
            stop()
            throw error
        }
    }

    /// The etcdctl command line (API v3) for this server, with its TLS files and admin user.
    public func etcdctlCommand(_ arguments: [String]) -> [String] {
        var command = ["etcdctl", "--endpoints", clientURL]
        if let tls = options.tls {
            command += ["--cacert", tls.caFile, "--cert", tls.clientCertFile, "--key", tls.clientKeyFile]
        }
        if let credentials = adminCredentials.withLock({ $0 }) { command += ["--user", credentials] }
        return command + arguments
    }

    /// Runs etcdctl (API v3) against this server; throws with etcdctl's output on failure.
    @discardableResult
    public func etcdctl(_ arguments: [String]) throws -> CommandResult {
        try CommandRunner.check(etcdctlCommand(arguments), environment: ["ETCDCTL_API": "3"])
    }

    /// Turns on authentication with a root user and a user whose role may only read/write
    /// `prefix` (the walkthrough's `role-flannel` on `/flannel-test/`).
    public func enableAuth(user: String, password: String, role: String, prefix: String, rootPassword: String = "root-secret") throws {
        try etcdctl(["user", "add", "root", "--interactive=false", "--new-user-password=\(rootPassword)"])
        try etcdctl(["user", "grant-role", "root", "root"])
        try etcdctl(["user", "add", user, "--interactive=false", "--new-user-password=\(password)"])
        try etcdctl(["role", "add", role])
        try etcdctl(["role", "grant-permission", role, "--prefix=true", "readwrite", prefix])
        try etcdctl(["user", "grant-role", user, role])
        try etcdctl(["auth", "enable"])
        adminCredentials.withLock { $0 = "root:\(rootPassword)" }
    }

    public var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }

    /// Stops etcd (SIGTERM, then SIGKILL after 5 s); data and ports are kept for `start()`.
    public func stop() {
        process.withLock { $0 }?.stop(grace: .seconds(5))
    }

    /// Kills etcd at once (SIGKILL), as a crash would.
    public func kill() {
        process.withLock { $0 }?.kill()
    }

    /// Stops etcd and removes its data dir and log.
    public func remove() {
        kill()
        try? FileManager.default.removeItem(at: dataDirectory)
        try? FileManager.default.removeItem(at: logFile)
    }

    deinit { remove() }
}
