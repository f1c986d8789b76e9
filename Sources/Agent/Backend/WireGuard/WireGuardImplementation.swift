import ArgumentParser

/// `--wireguard-implementation`: which WireGuard the wireguard backend drives.
public enum WireGuardImplementation: String, CaseIterable, Sendable, ExpressibleByArgument {
    /// The kernel's when it has WireGuard, else wireguard-go; the choice is logged.
    case auto
    case kernel
    /// wireguard-go, started and supervised by the agent.
    case userspace
}
