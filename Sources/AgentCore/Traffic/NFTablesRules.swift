/// The rules of `--ip-masq` and `--iptables-forward-rules` in nftables form, used when the
/// network config says `"EnableNFTables": true`: upstream's table, chains and rules
/// (pkg/trafficmngr/nftables), as the text `nft -f -` reads (one atomic transaction) and
/// compared with what `nft -j list` prints. Pure: the daemon runs nft.
///
/// Only the `ip flannel-ipv4` table: the agent is IPv4-only; upstream's `ip6 flannel-ipv6`
/// comes with dual-stack.
public struct NFTablesRules: Equatable, Sendable {
    /// One of our base chains, with the hook that makes the kernel run it.
    public struct Chain: Equatable, Sendable {
        public var name: String
        public var type: String
        public var hook: String
        /// As written in the transaction (`srcnat`), and as `nft -j` reports it (100).
        public var priorityName: String
        public var priority: Int
        public var comment: String

        /// What `nft -j` must show for it; a policy other than accept would drop what we do not match.
        var hookDescription: String { "type \(type) hook \(hook) priority \(priority) policy accept" }
    }

    /// One rule, in nft's syntax and in the canonical form `NFTablesListing` renders nft's
    /// JSON into (implicit `==`, prefixes as address/length, marks in hex), so that the text
    /// we write is also what we compare.
    public struct Rule: Equatable, Sendable, CustomStringConvertible {
        public var chain: String
        public var text: String
        public var description: String { "\(chain): \(text)" }
    }

    /// How the kernel's table differs from ours. Any of them is repaired by `transaction`.
    public enum Difference: Equatable, Sendable, CustomStringConvertible {
        case tableMissing
        case chainMissing(String)
        /// The chain exists with another type, hook, priority or policy (`found`), or without a hook.
        case chainHook(chain: String, found: String, wanted: String)
        case unexpectedChain(String)
        case missingRule(Rule)
        case unexpectedRule(Rule, handle: Int?)
        case duplicateRule(Rule, copies: Int)
        case outOfOrder(chain: String)

        /// Only a new table repairs it: `add chain` cannot change an existing chain's hook (the
        /// kernel refuses), and a chain of someone else's in our table would keep running.
        public var needsNewTable: Bool {
            switch self {
            case .chainHook, .unexpectedChain: true
            default: false
            }
        }

        public var description: String {
            switch self {
            case .tableMissing: "table \(NFTablesRules.family) \(NFTablesRules.tableName) missing"
            case let .chainMissing(chain): "chain \(chain) missing"
            case let .chainHook(chain, found, wanted): "chain \(chain) is \(found), not \(wanted)"
            case let .unexpectedChain(chain): "unexpected chain \(chain)"
            case let .missingRule(rule): "missing \(rule)"
            case let .unexpectedRule(rule, handle): "unexpected \(rule)" + (handle.map { " (handle \($0))" } ?? "")
            case let .duplicateRule(rule, copies): "\(copies) copies of \(rule)"
            case let .outOfOrder(chain): "\(chain) out of order"
            }
        }
    }

    public static let family = "ip"
    public static let tableName = "flannel-ipv4"
    static let tableComment = "rules for flannel-ipv4"
    public static let masqChain = Chain(name: "postrtg", type: "nat", hook: "postrouting", priorityName: "srcnat", priority: 100,
                                        comment: "chain to manage traffic masquerading by flannel")
    public static let forwardChain = Chain(name: "forward", type: "filter", hook: "forward", priorityName: "filter", priority: 0,
                                           comment: "chain to accept flannel traffic")

    /// The network and our lease subnet the rules were made for.
    public let network: IPv4Network
    public let subnet: IPv4Network
    /// `masquerade fully-random`.
    public let randomFully: Bool
    /// Our chains, in the order they are declared.
    public private(set) var chains: [Chain] = []
    /// Our rules, in order (each chain's in the order they must run).
    public private(set) var rules: [Rule] = []

    /// The rules for `network` with our lease `subnet`. `randomFully`: `masquerade
    /// fully-random` (kernel permitting).
    public init(network: IPv4Network, subnet: IPv4Network, ipMasq: Bool, forwardRules: Bool, randomFully: Bool = true) {
        self.network = network
        self.subnet = subnet
        self.randomFully = randomFully
        if ipMasq {
            let masquerade = randomFully ? "masquerade fully-random" : "masquerade"
            // Upstream's table, chains and rules, but for one defect fixed: upstream's third
            // RETURN reads `ip saddr != SUBNET ip daddr NETWORK`, which also matches the
            // host's own traffic into the overlay, so that the last rule (masquerade it) can
            // never match. Ours is the iptables mode's `! -s NETWORK -d SUBNET`: traffic from
            // outside the overlay to our containers keeps its source, the host's is
            // masqueraded. The mark is compared whole, as upstream's (iptables masks it).
            let texts = [
                // Packets marked by kube-proxy are its to masquerade (a second NAT breaks them).
                "meta mark 0x4000 return",
                // Container to container, across the overlay: addresses kept end to end.
                "ip saddr \(subnet) ip daddr \(network) return",
                "ip saddr \(network) ip daddr \(subnet) return",
                "ip saddr != \(network) ip daddr \(subnet) return",
                // Leaving the overlay (not multicast): masqueraded.
                "ip saddr \(network) ip daddr != 224.0.0.0/4 \(masquerade)",
                "ip saddr != \(network) ip daddr \(network) \(masquerade)",
            ]
            chains.append(Self.masqChain)
            rules += texts.map { Rule(chain: Self.masqChain.name, text: $0) }
        }
        if forwardRules {
            chains.append(Self.forwardChain)
            rules += ["ip saddr \(network) accept", "ip daddr \(network) accept"].map { Rule(chain: Self.forwardChain.name, text: $0) }
        }
    }

    public var isEmpty: Bool { rules.isEmpty }

    /// The `nft -f -` input that makes the table hold exactly our chains and rules, applied
    /// by the kernel as one transaction: the table and chains declared (created if missing),
    /// our chains flushed and filled. `recreatingTable`: the table is deleted and made anew
    /// in the same transaction (see `Difference.needsNewTable`).
    public func transaction(recreatingTable: Bool = false) -> String {
        let table = "\(Self.family) \(Self.tableName)"
        let declareTable = "add table \(table) { comment \"\(Self.tableComment)\" ; }\n"
        var text = declareTable
        if recreatingTable { text += "delete table \(table)\n" + declareTable }
        for chain in chains {
            text += "add chain \(table) \(chain.name) { type \(chain.type) hook \(chain.hook) priority \(chain.priorityName) ; comment \"\(chain.comment)\" ; }\n"
            text += "flush chain \(table) \(chain.name)\n"
            for rule in rules where rule.chain == chain.name { text += "add rule \(table) \(chain.name) \(rule.text)\n" }
        }
        return text
    }

    /// The `nft -f -` input that deletes our table and everything in it, whether it exists or
    /// not (declared first, so the delete cannot fail on a missing table).
    public static var removal: String {
        "add table \(family) \(tableName)\ndelete table \(family) \(tableName)\n"
    }

    /// How the kernel's table, as `nft -j list table ip flannel-ipv4` (or `nft -j list
    /// ruleset`) prints it, differs from ours: each of our chains must exist with our hook
    /// and hold exactly our rules in our order (the mark RETURN after a masquerade would come
    /// too late), and the table must hold no other chain.
    public func differences(fromListing json: String) throws(NFTablesListing.Failure) -> [Difference] {
        differences(from: try NFTablesListing(json: json, family: Self.family, table: Self.tableName))
    }

    /// As `differences(fromListing:)`, from a listing already read.
    public func differences(from listing: NFTablesListing) -> [Difference] {
        guard listing.tableExists else { return [.tableMissing] }
        var found: [Difference] = []
        for chain in chains {
            guard let present = listing.chains.first(where: { $0.name == chain.name }) else {
                found.append(.chainMissing(chain.name))
                continue
            }
            if present.hookDescription != chain.hookDescription {
                found.append(.chainHook(chain: chain.name, found: present.hookDescription, wanted: chain.hookDescription))
            }
            found += ruleDifferences(in: chain.name, listing: listing)
        }
        for present in listing.chains where !chains.contains(where: { $0.name == present.name }) {
            found.append(.unexpectedChain(present.name))
        }
        return found
    }

    private func ruleDifferences(in chain: String, listing: NFTablesListing) -> [Difference] {
        let wanted = rules.filter { $0.chain == chain }
        let present = listing.rules.filter { $0.chain == chain }
        guard present.map(\.text) != wanted.map(\.text) else { return [] }
        var found: [Difference] = wanted.filter { rule in !present.contains { $0.text == rule.text } }.map { .missingRule($0) }
        found += present.filter { rule in !wanted.contains { $0.text == rule.text } }
            .map { .unexpectedRule(Rule(chain: chain, text: $0.text), handle: $0.handle) }
        for rule in wanted {
            let copies = present.filter { $0.text == rule.text }.count
            if copies > 1 { found.append(.duplicateRule(rule, copies: copies)) }
        }
        return found.isEmpty ? [.outOfOrder(chain: chain)] : found
    }
}
