/// The iptables rules of `--ip-masq` and `--iptables-forward-rules` (COMPAT.md, "Traffic
/// rules"), as the text `iptables-save` prints and `iptables-restore` reads, so that what we
/// install and what we find are compared line by line. Pure: the daemon runs the tools.
public struct TrafficRules: Equatable, Sendable {
    /// One rule: `-A <chain> <spec>` in `table`.
    public struct Rule: Equatable, Sendable, CustomStringConvertible {
        public var table: String
        public var chain: String
        public var spec: String

        public var line: String { "-A \(chain) \(spec)" }
        public var description: String { "\(table): \(line)" }
    }

    public static let masqChain = "FLANNEL-POSTRTG"
    public static let forwardChain = "FLANNEL-FWD"
    static let masqComment = #"-m comment --comment "flanneld masq""#
    static let forwardComment = #"-m comment --comment "flanneld forward""#

    /// The lease subnet the rules were made for.
    public let subnet: IPv4Network
    /// Our chains' rules, in order, by table.
    public private(set) var chainRules: [Rule] = []
    /// The jumps into our chains from the built-in ones.
    public private(set) var jumps: [Rule] = []

    /// The rules for `network` with our lease `subnet`. `randomFully`: MASQUERADE with
    /// `--random-fully` (kernel and iptables permitting).
    public init(network: IPv4Network, subnet: IPv4Network, ipMasq: Bool, forwardRules: Bool, randomFully: Bool = true) {
        self.subnet = subnet
        if ipMasq {
            let masquerade = "-j MASQUERADE" + (randomFully ? " --random-fully" : "")
            let specs = [
                // Packets marked by kube-proxy and friends are theirs to masquerade.
                "-m mark --mark 0x4000/0x4000 \(Self.masqComment) -j RETURN",
                // Container to container, across the overlay: addresses kept end to end.
                "-s \(subnet) -d \(network) \(Self.masqComment) -j RETURN",
                "-s \(network) -d \(subnet) \(Self.masqComment) -j RETURN",
                "! -s \(network) -d \(subnet) \(Self.masqComment) -j RETURN",
                // Leaving the overlay (not multicast): masqueraded.
                "-s \(network) ! -d 224.0.0.0/4 \(Self.masqComment) \(masquerade)",
                "! -s \(network) -d \(network) \(Self.masqComment) \(masquerade)",
            ]
            chainRules += specs.map { Rule(table: "nat", chain: Self.masqChain, spec: $0) }
            jumps.append(Rule(table: "nat", chain: "POSTROUTING", spec: "\(Self.masqComment) -j \(Self.masqChain)"))
        }
        if forwardRules {
            chainRules += ["-s \(network) \(Self.forwardComment) -j ACCEPT", "-d \(network) \(Self.forwardComment) -j ACCEPT"]
                .map { Rule(table: "filter", chain: Self.forwardChain, spec: $0) }
            jumps.append(Rule(table: "filter", chain: "FORWARD", spec: "\(Self.forwardComment) -j \(Self.forwardChain)"))
        }
    }

    public var isEmpty: Bool { chainRules.isEmpty && jumps.isEmpty }

    /// The tables these rules live in, in a fixed order.
    public var tables: [String] { ["nat", "filter"].filter { table in jumps.contains { $0.table == table } } }

    /// Our rules that `saved` (the output of `iptables-save -t <table>` for our tables) lacks,
    /// and rules in our chains that we did not write (someone edited them).
    public func differences(fromSaved saved: String) -> [String] {
        let lines = saved.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        var problems = (chainRules + jumps).filter { !lines.contains($0.line) }.map { "missing \($0)" }
        let ours = Set(chainRules.map(\.line))
        let chains = Set(chainRules.map(\.chain))
        for line in lines where line.hasPrefix("-A ") {
            let chain = line.dropFirst(3).prefix { $0 != " " }
            if chains.contains(String(chain)) && !ours.contains(line) { problems.append("unexpected \(line)") }
        }
        return problems
    }

    /// `iptables-restore --noflush` input: each of our chains declared (so created, or
    /// emptied) and filled in order; a jump appended only where `saved` lacks it (never twice).
    public func restoreInput(saved: String) -> String {
        let lines = Set(saved.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        var text = ""
        for table in tables {
            text += "*\(table)\n"
            let rules = chainRules.filter { $0.table == table }
            for chain in Set(rules.map(\.chain)).sorted() { text += ":\(chain) - [0:0]\n" }
            for rule in rules { text += rule.line + "\n" }
            for jump in jumps where jump.table == table && !lines.contains(jump.line) { text += jump.line + "\n" }
            text += "COMMIT\n"
        }
        return text
    }
}
