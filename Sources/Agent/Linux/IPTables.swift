import Foundation

/// Runs `iptables-save` and `iptables-restore --noflush` for `TrafficRules`: one restore per
/// change, so the chains never stay half-written.
public enum IPTables {
    public struct Failure: Error, CustomStringConvertible {
        public var command: String
        public var reason: String
        public var description: String { "\(command): \(reason)" }
    }

    /// `iptables-save -t <table>` for each of `tables`, concatenated.
    public static func save(tables: [String]) throws(Failure) -> String {
        var text = ""
        for table in tables { text += try run(["iptables-save", "-t", table], input: nil) }
        return text
    }

    public static func restore(_ input: String) throws(Failure) {
        _ = try run(["iptables-restore", "--noflush"], input: input)
    }

    /// Installs `rules` where `iptables-save` shows them incomplete; returns what was wrong
    /// (empty: nothing to do). Falls back to MASQUERADE without `--random-fully` when the
    /// kernel or iptables refuses it, returning the rules in force.
    public static func ensure(_ rules: TrafficRules, fallback: TrafficRules?) throws(Failure) -> (problems: [String], inForce: TrafficRules) {
        let saved = try save(tables: rules.tables)
        let problems = rules.differences(fromSaved: saved)
        guard !problems.isEmpty else { return ([], rules) }
        do {
            try restore(rules.restoreInput(saved: saved))
            return (problems, rules)
        } catch {
            guard let fallback, fallback != rules else { throw error }
            try restore(fallback.restoreInput(saved: saved))
            return (problems, fallback)
        }
    }

    private static func run(_ arguments: [String], input: String?) throws(Failure) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe(), errors = Pipe(), feed = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = input == nil ? FileHandle.nullDevice : feed
        do {
            try process.run()
        } catch {
            throw Failure(command: arguments[0], reason: "cannot run it (\(error)); --ip-masq and --iptables-forward-rules need iptables (apt install iptables)")
        }
        if let input {
            feed.fileHandleForWriting.write(Data(input.utf8))
            try? feed.fileHandleForWriting.close()
        }
        // Read before waiting: a large table must not block on a full pipe.
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let reason = problem.trimmingCharacters(in: .whitespacesAndNewlines)
            if reason.contains("command not found") || reason.contains("No such file") {
                throw Failure(command: arguments[0], reason: "not installed; --ip-masq and --iptables-forward-rules need iptables (apt install iptables)")
            }
            throw Failure(command: arguments.joined(separator: " "), reason: "exit \(process.terminationStatus): \(reason)")
        }
        return text
    }
}
