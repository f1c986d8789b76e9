/// Warnings about skipped lease entries, bounded whatever a writer does to the prefix: each
/// key's problem is logged once (again only if it changes), at most `linesPerWindow` lines
/// per `window`, and what was held back is summed up in one line when the next window opens.
/// Every skipped entry is still counted (`Observation.leasesIgnored`).
struct LeaseWarnings: Sendable {
    static let linesPerWindow = 10
    static let window: Duration = .seconds(60)
    /// Keys remembered as logged; past this the memory starts over (a writer making ever new
    /// keys is still held to the line rate). Keys are kept bounded (`LogText`), not verbatim.
    static let rememberedKeys = 1_024

    private var logged: [String: String] = [:]
    private var windowStart: Timestamp?
    private var linesInWindow = 0
    private var heldBack = 0

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
            if let start = windowStart, now < start + Self.window {
                guard linesInWindow < Self.linesPerWindow else {
                    heldBack += 1
                    continue
                }
            } else {
                if heldBack > 0 {
                    actions.append(.log(.warning, "\(heldBack) more skipped lease entries were not logged in the last minute (see flannel_lease_entries_ignored_total)"))
                }
                windowStart = now
                linesInWindow = 0
                heldBack = 0
            }
            linesInWindow += 1
            actions.append(.log(.warning, "\(entry)"))
        }
        for kind in MalformedLease.Kind.allCases {
            if let count = counts[kind] { actions.append(.observe(.leasesIgnored(kind, count: count))) }
        }
        return actions
    }
}
