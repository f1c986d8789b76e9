import Dispatch
import FoundationEssentials
import Glibc

/// What a run of a rule tool (iptables-save, iptables-restore, nft) failed with.
public struct RuleToolFailure: Error, CustomStringConvertible {
    public var command: String
    public var reason: String
    public var description: String { "\(command): \(reason)" }
}

/// Runs the tools that hold the traffic rules, for `IPTables` and `NFTables`, off the
/// cooperative thread pool (a busy node's tables are megabytes).
enum RuleTool {
    /// Runs `arguments` (looked up on PATH) with `input` on its standard input; returns its
    /// standard output. `installHint` says what needs the tool and how to get it; only the
    /// first `errorLines` of its complaint are kept (nft underlines the failing line).
    static func run(_ arguments: [String], input: String?, installHint: String, errorLines: Int? = nil) throws(RuleToolFailure) -> String {
        // stderr to a file, so stdout can be read to its end without either pipe filling up.
        let errorsPath = FileManager.default.temporaryDirectory.appendingPathComponent("flanneld-\(arguments[0])-\(UUID().uuidString).err").path
        defer { unlink(errorsPath) }
        let outcome: ChildProcess.Outcome
        do {
            outcome = try ChildProcess.run(["/usr/bin/env"] + arguments, environment: environment(from: ProcessInfo.processInfo.environment),
                                           input: input, errorsPath: errorsPath)
        } catch {
            throw RuleToolFailure(command: arguments[0], reason: "cannot run it (\(error)); \(installHint)")
        }
        let errors = FileManager.default.contents(atPath: errorsPath).map { String(decoding: $0, as: UTF8.self) } ?? ""
        var problem = errors.trimmingWhitespace()
        if let errorLines { problem = problem.split(separator: "\n").prefix(errorLines).joined(separator: ": ") }
        switch outcome.status {
        case 0: return outcome.output
        case 127: throw RuleToolFailure(command: arguments[0], reason: "not installed; \(installHint)")
        default: throw RuleToolFailure(command: arguments.joined(separator: " "), reason: "exit \(outcome.status): \(problem)")
        }
    }

    /// What a tool gets of our environment: PATH (to find it) and the C locale (its output is
    /// parsed). Nothing else, so that FLANNELD_ETCD_PASSWORD and the like never reach it.
    static func environment(from ours: [String: String]) -> [String: String] {
        ["PATH": ours["PATH"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
         "LC_ALL": "C"]
    }

    /// `body` on a Dispatch thread, awaited.
    static func offThePool<T: Sendable, Failure: Error>(_ body: @escaping @Sendable () throws(Failure) -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { () throws(Failure) in try body() }) }
        }
    }
}
