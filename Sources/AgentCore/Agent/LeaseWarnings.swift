/// Warnings about skipped lease entries, bounded whatever a writer does to the prefix: each
/// key's problem is logged once (again only if it changes), within a `LogBudget`. Every
/// skipped entry is still counted (`Observation.leasesIgnored`).
struct LeaseWarnings: Sendable {
    /// Keys remembered as logged; past this the memory starts over (a writer making ever new
    /// keys is still held to the budget). Keys are kept bounded (`LogText`), not verbatim.
    static let rememberedKeys = 1_024

    private var logged: [String: String] = [:]
    private var budget = LogBudget()

    mutating func warn(_ entries: [MalformedLease], now: Timestamp) -> [AgentMachine.Action] {
        guard !entries.isEmpty else { return [] }
        var actions: [AgentMachine.Action] = []
        var counts: [MalformedLease.Kind: Int] = [:]
        for entry in entries {
            counts[entry.kind, default: 0] += 1
            let key = LogText.bounded(entry.key)
            let reason = LogText.bounded(entry.reason)
            guard logged[key] != reason else { continue }
            if logged.count >= Self.rememberedKeys { logged.removeAll(keepingCapacity: true) }
            logged[key] = reason
            guard case let .log(heldBack) = budget.admit(now: now) else { continue }
            if heldBack > 0 {
                actions.append(.log(.warning, "\(heldBack) more skipped lease entries were not logged in the last minute (see flannel_lease_entries_ignored_total)"))
            }
            actions.append(.log(.warning, "\(entry)"))
        }
        for kind in MalformedLease.Kind.allCases {
            if let count = counts[kind] { actions.append(.observe(.leasesIgnored(kind, count: count))) }
        }
        return actions
    }
}
