/// `Backend.Mode`: how a dual-stack network uses WireGuard devices (upstream's values,
/// matched case-sensitively as upstream does).
public enum WireGuardMode: String, Sendable, CaseIterable {
    /// One device per family: `flannel-wg` and `flannel-wg-v6` (upstream's default).
    case separate
    /// One device for both families; each peer's endpoint chosen by address kind.
    case auto
    case ipv4
    case ipv6
}
