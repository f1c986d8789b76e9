import FoundationEssentials
import Glibc
import Logging

/// WireGuard in user space: `wireguard-go -f <device>` started and supervised by the agent,
/// configured over its UAPI socket. A wireguard-go already serving the device (left running
/// by the agent's previous run) is kept, with its sessions.
final class WireGuardGoDriver: WireGuardDriver {
    let kind = "wireguard-go"
    private let binary: String
    private let netlink: RouteNetlink
    private let logPath: String
    private var socket: WireGuardUAPISocket?
    private var process: DetachedProcess?

    /// `binary`: wg-quick's `WG_QUICK_USERSPACE_IMPLEMENTATION` when set, else `wireguard-go`
    /// from PATH. Its output goes to `logPath`.
    init(binary: String, netlink: RouteNetlink, logPath: String) {
        self.binary = binary
        self.netlink = netlink
        self.logPath = logPath
    }

    /// The wireguard-go to run, or why there is none.
    static func findBinary(environment: [String: String]) -> Result<String, WireGuardSetupError> {
        let chosen = environment["WG_QUICK_USERSPACE_IMPLEMENTATION"].flatMap { $0.isEmpty ? nil : $0 } ?? "wireguard-go"
        guard chosen.contains("/") else { return find(chosen, environment: environment) }
        guard access(chosen, X_OK) == 0 else {
            return .failure(WireGuardSetupError("WG_QUICK_USERSPACE_IMPLEMENTATION=\(chosen) is not an executable file; point it at wireguard-go, or unset it"))
        }
        return .success(chosen)
    }

    private static func find(_ name: String, environment: [String: String]) -> Result<String, WireGuardSetupError> {
        let path = environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        for directory in path.split(separator: ":") where access("\(directory)/\(name)", X_OK) == 0 {
            return .success("\(directory)/\(name)")
        }
        return .failure(WireGuardSetupError("\(name) is not in PATH (\(path)); install wireguard-go (Debian: apt install wireguard-go), or run on a kernel with WireGuard (--wireguard-implementation=auto or kernel)"))
    }

    func ensureDevice(name: String, mtu: Int, logger: Logger) throws -> Bool {
        let socket = WireGuardUAPISocket(device: name)
        self.socket = socket
        if let process, let status = process.exitStatus() {
            logger.warning("wireguard-go for \(name) (pid \(process.pid)) exited with status \(status); starting it again (its log: \(logPath))")
            self.process = nil
        }
        if try netlink.link(named: name) != nil, socket.exists {
            do {
                _ = try socket.exchange(WireGuardUAPI.getRequest)
                try setMTU(name: name, mtu: mtu, logger: logger)
                return false
            } catch let failure as WireGuardUAPISocket.Failure where failure.timedOut {
                // Busy, not gone: its sessions are worth more than a restart.
                throw WireGuardSetupError("wireguard-go for \(name) did not answer on \(socket.path) within 3 s; left running, asked again at the next resync")
            } catch {}
        }
        if let process {
            // Running but not serving the device (deleted by hand): start afresh.
            logger.warning("\(name) is gone but wireguard-go (pid \(process.pid)) still runs; restarting it")
            process.terminate()
            self.process = nil
        }
        if let stale = try netlink.link(named: name) {
            // A device nobody serves (a wireguard-go that died and left it, or another kind).
            logger.warning("replacing \(stale): no wireguard-go answers on \(socket.path)")
            try netlink.deleteLink(stale.device)
        }
        // The previous run's log is kept once, as <log>.1: a restart never grows it without end.
        _ = rename(logPath, logPath + ".1")
        let started = try DetachedProcess.start([binary, "-f", name], environment: ["LOG_LEVEL": "error", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], logPath: logPath)
        process = started
        // Up to 5 s for the TUN device and the socket to appear.
        for _ in 0..<100 {
            if let status = started.exitStatus() {
                process = nil
                throw WireGuardSetupError("\(binary) -f \(name) exited with status \(status) at start; see \(logPath)")
            }
            if try netlink.link(named: name) != nil, socket.exists, (try? socket.exchange(WireGuardUAPI.getRequest)) != nil {
                try setMTU(name: name, mtu: mtu, logger: logger)
                logger.info("started wireguard-go for \(name) (pid \(started.pid), UAPI \(socket.path))")
                return true
            }
            usleep(50_000)
        }
        started.terminate()
        process = nil
        throw WireGuardSetupError("\(binary) -f \(name) did not create \(name) and \(socket.path) within 5 s; see \(logPath)")
    }

    private func setMTU(name: String, mtu: Int, logger: Logger) throws {
        guard let link = try netlink.link(named: name) else { return }
        if link.mtu != mtu {
            try netlink.setMTU(link.device, mtu)
            logger.info("\(name): MTU \(link.mtu) → \(mtu)")
        }
        if !link.isUp { try netlink.setUp(link.device) }
    }

    func configure(privateKey: WireGuardSecret?, listenPort: Int?, plan: WireGuardPeerPlan) throws {
        guard let socket else { throw WireGuardSetupError("wireguard-go: configure before the device exists") }
        let answer = try socket.exchange(WireGuardUAPI.setRequest(privateKey: privateKey, listenPort: listenPort, plan: plan))
        let code = try WireGuardUAPI.errno(of: answer)
        if code == -98, let listenPort {
            throw WireGuardSetupError("wireguard-go on \(socket.path): UDP port \(listenPort) is in use by another socket; free it, or set Backend.ListenPort (ListenPortV6 for flannel-wg-v6) to another port")
        }
        guard code == 0 else {
            throw WireGuardSetupError("wireguard-go refused the configuration on \(socket.path): errno=\(code)\(Self.explain(code))")
        }
    }

    func read() throws -> WireGuardDeviceState {
        guard let socket else { throw WireGuardSetupError("wireguard-go: read before the device exists") }
        return try WireGuardUAPI.parseGet(try socket.exchange(WireGuardUAPI.getRequest))
    }

    func detach(logger: Logger) {
        logger.info("leaving wireguard-go\(process.map { " (pid \($0.pid))" } ?? "") and its peers running; the next start reuses them")
    }

    private static func explain(_ code: Int) -> String {
        switch code {
        case -98: " (address in use: another process has the listen port)"
        case -22: " (invalid argument)"
        case -71: " (protocol error: a malformed request)"
        default: ""
        }
    }
}

/// Setting WireGuard up failed: what, why, what to do.
struct WireGuardSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
