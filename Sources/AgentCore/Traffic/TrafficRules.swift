/// The iptables rules of `--ip-masq` and `--iptables-forward-rules` (COMPAT.md, "Traffic
/// rules"), as the text `iptables-save` prints and `iptables-restore` reads, so that what we
/// install and what we find are compared line by line; for a dual-stack network's IPv6 half
/// the same chains and rules in ip6tables. Pure: the daemon runs the tools.
public struct TrafficRules: Equatable, Sendable {
    /// Which tool's tables the rules are for.
    public enum Family: String, Equatable, Sendable {
        case ipv4 = "iptables"
        case ipv6 = "ip6tables"

        /// The tool's name (`iptables`, `ip6tables`); `-save` and `-restore` are its siblings.
        public var tool: String { rawValue }
    }

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

    public let family: Family
    /// MASQUERADE with `--random-fully`.
    public private(set) var randomFully: Bool
    /// Our chains' rules, in order, by table.
    public private(set) var chainRules: [Rule] = []
    /// The jumps into our chains from the built-in ones.
    public private(set) var jumps: [Rule] = []

    /// The rules for `network` with our lease `subnet`. `randomFully`: MASQUERADE with
    /// `--random-fully` (kernel and iptables permitting).
    public init(network: IPv4Network, subnet: IPv4Network, ipMasq: Bool, forwardRules: Bool, randomFully: Bool = true) {
        self.init(family: .ipv4, network: "\(network)", subnet: "\(subnet)", multicast: "224.0.0.0/4",
                  ipMasq: ipMasq, forwardRules: forwardRules, randomFully: randomFully)
    }

    /// The IPv6 half's rules in ip6tables: the same chains, rules and order, multicast
    /// being ff00::/8 (as upstream's `MasqIP6Rules`).
    public init(ipv6Network network: IPv6Network, subnet: IPv6Network, ipMasq: Bool, forwardRules: Bool, randomFully: Bool = true) {
        self.init(family: .ipv6, network: "\(network)", subnet: "\(subnet)", multicast: "ff00::/8",
                  ipMasq: ipMasq, forwardRules: forwardRules, randomFully: randomFully)
    }

    /// The same rules without `--random-fully`, for a tool or kernel that refuses it.
    public var withoutRandomFully: TrafficRules {
        var plain = self
        plain.chainRules = chainRules.map { rule in
            var rule = rule
            if rule.spec.hasSuffix(" --random-fully") { rule.spec.removeLast(" --random-fully".count) }
            return rule
        }
        plain.randomFully = false
        return plain
    }

    private init(family: Family, network: String, subnet: String, multicast: String, ipMasq: Bool, forwardRules: Bool, randomFully: Bool) {
        self.family = family
        self.randomFully = randomFully
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
                "-s \(network) ! -d \(multicast) \(Self.masqComment) \(masquerade)",
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

    /// How `saved` (the output of `iptables-save -t <table>` for our tables) differs from
    /// these rules: each of our chains must hold exactly our rules in our order (the mark
    /// RETURN after a MASQUERADE would masquerade twice), each jump must be there once.
    public func differences(fromSaved saved: String) -> [String] {
        let lines = Self.lines(saved)
        var problems: [String] = []
        for chain in chains {
            let wanted = chainRules.filter { $0.chain == chain }
            let present = lines.filter { $0.hasPrefix("-A \(chain) ") }
            guard present != wanted.map(\.line) else { continue }
            var found = wanted.filter { !present.contains($0.line) }.map { "missing \($0)" }
            found += present.filter { line in !wanted.contains { $0.line == line } }.map { "unexpected \($0)" }
            problems += found.isEmpty ? ["\(chain) out of order or with duplicates"] : found
        }
        for jump in jumps {
            let count = lines.filter { $0 == jump.line }.count
            if count == 0 { problems.append("missing \(jump)") }
            if count > 1 { problems.append("\(count) copies of \(jump)") }
        }
        return problems
    }

    /// `iptables-restore --noflush` input: each of our chains declared (so created, or
    /// emptied) and filled in order; a jump appended where `saved` lacks it, extra copies deleted.
    public func restoreInput(saved: String) -> String {
        let lines = Self.lines(saved)
        var text = ""
        for table in tables {
            text += "*\(table)\n"
            let rules = chainRules.filter { $0.table == table }
            for chain in chains where rules.contains(where: { $0.chain == chain }) { text += ":\(chain) - [0:0]\n" }
            for rule in rules { text += rule.line + "\n" }
            for jump in jumps where jump.table == table {
                let count = lines.filter { $0 == jump.line }.count
                if count == 0 { text += jump.line + "\n" }
                for _ in 0..<max(0, count - 1) { text += "-D \(jump.chain) \(jump.spec)\n" }
            }
            text += "COMMIT\n"
        }
        return text
    }

    /// Our chains, in a fixed order.
    private var chains: [String] {
        [Self.masqChain, Self.forwardChain].filter { chain in chainRules.contains { $0.chain == chain } }
    }

    private static func lines(_ text: String) -> [String] {
        text.split(separator: "\n").map { $0.trimmingWhitespace() }
    }
}
