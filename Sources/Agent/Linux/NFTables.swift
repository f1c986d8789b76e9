
/// Runs `nft` for `NFTablesRules` (the `EnableNFTables` mode), off the cooperative thread
/// pool: the table listed as JSON and compared, repaired by one `nft -f -` transaction when
/// it differs (the kernel applies all of it or none), checked by a second listing.
public enum NFTables {
    public typealias Failure = RuleToolFailure

    /// Makes our table hold `rules`; returns what was wrong (empty: nothing to do) and the
    /// rules in force: without `fully-random` when the kernel refuses it.
    public static func ensure(_ rules: NFTablesRules, fallback: NFTablesRules?) async throws -> (problems: [String], inForce: NFTablesRules) {
        try await RuleTool.offThePool { () throws(Failure) in try ensureNow(rules, fallback: fallback) }
    }

    /// Deletes our table if it exists (left by a run with `EnableNFTables`); true when it did.
    public static func removeTable() async throws -> Bool {
        try await RuleTool.offThePool { () throws(Failure) in
            guard try listTable() != nil else { return false }
            try apply(NFTablesRules.removal)
            return true
        }
    }

    private static func ensureNow(_ rules: NFTablesRules, fallback: NFTablesRules?) throws(Failure) -> (problems: [String], inForce: NFTablesRules) {
        let problems = try differences(rules)
        guard !problems.isEmpty else { return ([], rules) }
        let recreatingTable = problems.contains { $0.needsNewTable }
        var inForce = rules
        do {
            try apply(rules.transaction(recreatingTable: recreatingTable))
        } catch where error.reason.contains("fully-random") {
            // nft echoes the command the kernel refused: here the masquerade with fully-random.
            guard let fallback else { throw error }
            try apply(fallback.transaction(recreatingTable: recreatingTable))
            inForce = fallback
        }
        // Checked: a difference a transaction cannot fix is reported, not "fixed" every resync.
        let after = try differences(inForce)
        guard after.isEmpty else {
            throw Failure(command: "nft -f -", reason: "the table still differs after the transaction: \(after.prefix(2).map(\.description).joined(separator: "; "))")
        }
        return (problems.map(\.description), inForce)
    }

    private static func differences(_ rules: NFTablesRules) throws(Failure) -> [NFTablesRules.Difference] {
        guard let json = try listTable() else { return [.tableMissing] }
        do {
            return try rules.differences(fromListing: json)
        } catch {
            throw Failure(command: "nft -j list table \(NFTablesRules.family) \(NFTablesRules.tableName)", reason: "\(error)")
        }
    }

    /// `nft -j list table ip flannel-ipv4`; nil when the table does not exist.
    static func listTable() throws(Failure) -> String? {
        do {
            return try run(["nft", "-j", "list", "table", NFTablesRules.family, NFTablesRules.tableName], input: nil)
        } catch where error.reason.contains("No such file or directory") {
            return nil
        }
    }

    /// Runs `transaction` with `nft -f -`: all of it or none.
    static func apply(_ transaction: String) throws(Failure) {
        _ = try run(["nft", "-f", "-"], input: transaction)
    }

    private static func run(_ arguments: [String], input: String?) throws(Failure) -> String {
        try RuleTool.run(arguments, input: input, installHint: "\"EnableNFTables\": true in the network config needs nft (apt install nftables)", errorLines: 2)
    }
}
