import Foundation

/// The privilege settings of a systemd unit (`dist/flanneld.service`) applied to a command the
/// way systemd applies them, with `setpriv`: `CapabilityBoundingSet=` and `NoNewPrivileges=`.
/// The lab has no systemd to run the unit itself; this way the walkthrough's agents run under
/// the unit's own lines, and a line the agent cannot live with fails the walkthrough.
/// (`ProtectSystem=` and `ReadWritePaths=` need systemd's mount namespace: not applied.)
public struct UnitSandbox: Sendable, Equatable {
    /// Lower-case names without `CAP_`, e.g. ["net_admin", "net_raw"]; nil: not restricted.
    public var boundingSet: [String]?
    public var noNewPrivileges: Bool

    public init(unitText: String) {
        var bounding: [String]?
        var noNewPrivileges = false
        for line in unitText.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "CapabilityBoundingSet":
                bounding = (bounding ?? []) + parts[1].split(separator: " ").map { $0.lowercased().replacingOccurrences(of: "cap_", with: "") }
            case "NoNewPrivileges":
                noNewPrivileges = ["yes", "true", "1", "on"].contains(parts[1].lowercased())
            default:
                break
            }
        }
        boundingSet = bounding
        self.noNewPrivileges = noNewPrivileges
    }

    /// `command` under the settings (unchanged when there are none).
    public func wrap(_ command: [String]) -> [String] {
        var options: [String] = []
        if let boundingSet { options.append("--bounding-set=-all" + boundingSet.map { ",+" + $0 }.joined()) }
        if noNewPrivileges { options.append("--no-new-privs") }
        guard !options.isEmpty else { return command }
        return ["setpriv"] + options + ["--"] + command
    }
}
