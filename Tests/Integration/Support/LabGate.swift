import Foundation
import NetnsLab
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

/// Awaits `body`, failing with `Poll.TimedOut` if it takes longer than `timeout`.
func withDeadline<T: Sendable>(_ timeout: Duration, waitingFor what: String,
                               _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw Poll.TimedOut(what: what, after: timeout)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
