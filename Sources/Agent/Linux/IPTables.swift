
/// Runs `iptables-save` and `iptables-restore` (`ip6tables-*` for the IPv6 half) for `TrafficRules`, off the cooperative
/// thread pool (a busy node's tables are megabytes): one restore per change, waiting for the
/// xtables lock that kube-proxy or docker may hold, checked by a second save.
public enum IPTables {
    public typealias Failure = RuleToolFailure

    /// Makes the tables hold `rules`; returns what was wrong (empty: nothing to do) and the
    /// rules in force: without `--random-fully` when iptables or the kernel refuses it.
    public static func ensure(_ rules: TrafficRules, fallback: TrafficRules?) async throws -> (problems: [String], inForce: TrafficRules) {
        try await RuleTool.offThePool { () throws(Failure) in try ensureNow(rules, fallback: fallback) }
    }

    private static func ensureNow(_ rules: TrafficRules, fallback: TrafficRules?) throws(Failure) -> (problems: [String], inForce: TrafficRules) {
        let saved = try save(tables: rules.tables, family: rules.family)
        let problems = rules.differences(fromSaved: saved)
        guard !problems.isEmpty else { return ([], rules) }
        var inForce = rules
        do {
            try restore(rules.restoreInput(saved: saved), family: rules.family)
        } catch where error.reason.contains("random-fully") || error.reason.contains("RANDOM_FULLY") {
            guard let fallback else { throw error }
            try restore(fallback.restoreInput(saved: saved), family: rules.family)
            inForce = fallback
        }
        // Checked: a difference a restore cannot fix is reported, not "fixed" every resync.
        let after = inForce.differences(fromSaved: try save(tables: inForce.tables, family: rules.family))
        guard after.isEmpty else {
            throw Failure(command: "\(rules.family.tool)-restore", reason: "the rules still differ after restoring them: \(after.prefix(2).joined(separator: "; "))")
        }
        return (problems, inForce)
    }

    /// `iptables-save -t <table>` for each of `tables`; a table that does not exist yet is empty.
    static func save(tables: [String], family: TrafficRules.Family = .ipv4) throws(Failure) -> String {
        var text = ""
        for table in tables {
            do {
                text += try run(["\(family.tool)-save", "-t", table], input: nil)
            } catch where error.reason.contains("does not exist") {
                continue
            }
        }
        return text
    }

    static func restore(_ input: String, family: TrafficRules.Family = .ipv4) throws(Failure) {
        _ = try run(["\(family.tool)-restore", "-w", "5", "--noflush"], input: input)
    }

    private static func run(_ arguments: [String], input: String?) throws(Failure) -> String {
        try RuleTool.run(arguments, input: input, installHint: "--ip-masq and --iptables-forward-rules need iptables (apt install iptables)")
    }
}
