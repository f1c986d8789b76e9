extension TrafficRules {
    /// `iptables-restore --noflush` input that removes what iptables mode leaves behind
    /// (when the network config switched to `EnableNFTables`, which would otherwise run both):
    /// every jump into `FLANNEL-POSTRTG` or `FLANNEL-FWD`, then the chains themselves. nil
    /// when `saved` (`iptables-save -t nat` and `-t filter`) holds none of them.
    public static func removalInput(saved: String) -> String? {
        let ours = [masqChain, forwardChain]
        var sections: [(table: String, lines: [String])] = []
        var table = ""
        var jumps: [String] = [], chains: [String] = []
        func closeSection() {
            guard !table.isEmpty, !jumps.isEmpty || !chains.isEmpty else { return }
            // Jumps first: a chain still referenced cannot be deleted.
            sections.append((table, jumps + chains.flatMap { ["-F \($0)", "-X \($0)"] }))
        }
        for line in saved.split(separator: "\n").map({ $0.trimmingWhitespace() }) {
            if line.hasPrefix("*") {
                closeSection()
                (table, jumps, chains) = (String(line.dropFirst()), [], [])
            } else if let chain = ours.first(where: { line.hasPrefix(":\($0) ") }) {
                chains.append(chain)
            } else if line.hasPrefix("-A "), !ours.contains(where: { line.hasPrefix("-A \($0) ") }),
                      ours.contains(where: { line.hasSuffix(" -j \($0)") || line.contains(" -j \($0) ") }) {
                jumps.append("-D " + line.dropFirst(3))
            }
        }
        closeSection()
        guard !sections.isEmpty else { return nil }
        return sections.map { "*\($0.table)\n" + $0.lines.map { $0 + "\n" }.joined() + "COMMIT\n" }.joined()
    }
}
