/// wireguard-go's UAPI sockets live in `/var/run/wireguard`, one folder for the whole machine
/// whatever the network namespace: two lab hosts' `flannel-wg.sock` would collide. Each host's
/// agent (and wireguard-go, its child) and each `wg` run for that host see the host's own
/// folder bound over it in a private mount namespace; its key file is the host's too.
public struct WireGuardSandbox: Sendable, Equatable {
    /// The host's folder that stands in for `/var/run/wireguard`.
    public var socketDirectory: String
    /// `WIREGUARD_KEY_FILE` for the host's agent.
    public var keyFile: String

    public init(socketDirectory: String, keyFile: String) {
        self.socketDirectory = socketDirectory
        self.keyFile = keyFile
    }

    /// The machine's folder, made if missing (a mount point must exist); `/var/run` is `/run`.
    static let machineDirectory = "/run/wireguard"

    /// `command` with the host's folder bound over the machine's. A folder that cannot be
    /// bound stops the command with exit 125 rather than running it on the shared one.
    public func wrap(_ command: [String]) -> [String] {
        let script = "mkdir -p \(Self.machineDirectory) \(socketDirectory.shellQuoted) && mount --bind \(socketDirectory.shellQuoted) \(Self.machineDirectory) || exit 125; "
            + "export WIREGUARD_KEY_FILE=\(keyFile.shellQuoted); exec \"$@\""
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "wireguard-sandbox"] + command
    }
}
