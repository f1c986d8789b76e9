import Logging

/// A WireGuard implementation the backend drives: the kernel's (rtnetlink and generic
/// netlink) or wireguard-go's (a child process and its UAPI socket).
protocol WireGuardDriver: AnyObject {
    /// "kernel" or "wireguard-go", for the log.
    var kind: String { get }
    /// Makes sure the device exists (creating it, or restarting wireguard-go, when it does
    /// not); true when it had to be made, so that its settings and peers must be set again.
    func ensureDevice(name: String, mtu: Int, logger: Logger) throws -> Bool
    /// Applies device settings and peer changes.
    func configure(privateKey: WireGuardSecret?, listenPort: Int?, plan: WireGuardPeerPlan) throws
    /// The device's settings and peers as it has them now.
    func read() throws -> WireGuardDeviceState
    /// The agent stops: what happens to the device (it stays, so traffic keeps flowing).
    func detach(logger: Logger)
}
