import Foundation
import Testing

/// Integration tests need root (namespaces) and the lab packages. Outside CI a developer
/// without root sees them skipped; under `CI=true` they always run, so a missing
/// prerequisite fails loudly instead of passing as a skip.
enum LabGate {
    static var isRoot: Bool { getuid() == 0 }
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Whether the root-only suites run at all.
    static var shouldRun: Bool { isRoot || isCI }

    /// Records a failure (and returns false) when the prerequisites are missing.
    static func requireRoot(sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        guard isRoot else {
            Issue.record("integration tests must run as root (network namespaces, etcd); run `sudo lab/test`", sourceLocation: sourceLocation)
            return false
        }
        return true
    }
}
