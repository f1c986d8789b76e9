/// One table as `nft -j list table …` or `nft -j list ruleset` prints it: its chains with
/// their hooks, and each rule's expressions rendered back into nft's syntax in one canonical
/// form (the form `NFTablesRules` writes), so that nft's own rendering of our rules — 16384
/// for the mark we wrote as 0x4000, `{"prefix": {"addr": …, "len": …}}` for a CIDR, an
/// explicit `==` — compares equal to what we wrote. Pure: parses text handed to it.
public struct NFTablesListing: Equatable, Sendable {
    public struct Chain: Equatable, Sendable {
        public var name: String
        /// `type T hook H priority P policy X`, or "a regular chain (no hook)".
        public var hookDescription: String
    }

    public struct Rule: Equatable, Sendable {
        public var chain: String
        /// The expressions in canonical nft syntax, like `ip saddr != 10.1.0.0/16 ip daddr 10.1.82.0/24 return`.
        public var text: String
        /// What `nft delete rule … handle N` takes.
        public var handle: Int?
    }

    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { "nft -j printed something other than nftables JSON: \(reason)" }
    }

    public private(set) var tableExists = false
    /// In listing order.
    public private(set) var chains: [Chain] = []
    /// In listing order, which nft keeps per chain.
    public private(set) var rules: [Rule] = []

    /// The objects of table `family` `table` in `json` (other tables' objects are skipped).
    public init(json: String, family: String, table: String) throws(Failure) {
        let document: JSONValue
        do {
            document = try JSONParser.parse(json)
        } catch {
            throw Failure(reason: "\(error)")
        }
        guard case let .array(objects)? = document.member("nftables") else {
            throw Failure(reason: "no \"nftables\" array at the top")
        }
        for object in objects {
            guard case let .object(members) = object, let (kind, body) = members.first else { continue }
            guard body.member("family")?.stringValue == family else { continue }
            switch kind {
            case "table" where body.member("name")?.stringValue == table:
                tableExists = true
            case "chain" where body.member("table")?.stringValue == table:
                guard let name = body.member("name")?.stringValue else { continue }
                chains.append(Chain(name: name, hookDescription: Self.hookDescription(body)))
            case "rule" where body.member("table")?.stringValue == table:
                guard let chain = body.member("chain")?.stringValue else { continue }
                guard case let .array(expressions)? = body.member("expr") else {
                    throw Failure(reason: "a rule of chain \(chain) has no \"expr\" array")
                }
                rules.append(Rule(chain: chain, text: expressions.map(Self.render).joined(separator: " "),
                                  handle: body.member("handle")?.integerValue))
            default: continue
            }
        }
    }

    private static func hookDescription(_ chain: JSONValue) -> String {
        guard let hook = chain.member("hook")?.stringValue else { return "a regular chain (no hook)" }
        let type = chain.member("type")?.stringValue ?? "?"
        let priority = chain.member("prio").map(scalar) ?? "?"
        let policy = chain.member("policy")?.stringValue ?? "accept"
        return "type \(type) hook \(hook) priority \(priority) policy \(policy)"
    }

    /// One expression (a match or a statement) in nft syntax; one nft does not describe in a
    /// way we know is shown as its JSON, so it still differs from any rule of ours.
    static func render(_ expression: JSONValue) -> String {
        guard case let .object(members) = expression, members.count == 1, let (key, body) = members.first else {
            return expression.encoded
        }
        switch key {
        case "match":
            guard let left = body.member("left"), let right = body.member("right") else { return expression.encoded }
            let op = body.member("op")?.stringValue ?? "=="
            // nft prints `==` (and `in` for a set or prefix) implicitly, as we write it.
            let shownOp = op == "==" || op == "in" ? "" : " \(op)"
            let isMark = left.member("meta")?.member("key")?.stringValue == "mark"
            return "\(operand(left))\(shownOp) \(operand(right, hex: isMark))"
        case "masquerade", "snat", "dnat", "redirect":
            return ([key] + flags(body)).joined(separator: " ")
        case "jump", "goto":
            return body.member("target")?.stringValue.map { "\(key) \($0)" } ?? expression.encoded
        default:
            // Verdicts (`{"accept": null}`, `{"return": null}`) and statements with no arguments.
            return body == .null ? key : "\(key) \(body.encoded)"
        }
    }

    private static func operand(_ value: JSONValue, hex: Bool = false) -> String {
        if let payload = value.member("payload"), let proto = payload.member("protocol")?.stringValue,
           let field = payload.member("field")?.stringValue {
            return "\(proto) \(field)"
        }
        if let key = value.member("meta")?.member("key")?.stringValue { return "meta \(key)" }
        if let prefix = value.member("prefix"), let address = prefix.member("addr")?.stringValue,
           let length = prefix.member("len")?.integerValue {
            return "\(address)/\(length)"
        }
        if hex, let number = value.integerValue { return "0x" + String(number, radix: 16) }
        if let text = value.stringValue {
            // A single address is a /32: written as such by us.
            return (try? IPv4Address(parsing: text)) != nil ? "\(text)/32" : text
        }
        return scalar(value)
    }

    private static func scalar(_ value: JSONValue) -> String {
        switch value {
        case let .number(text): text
        case let .string(text): text
        default: value.encoded
        }
    }

    /// `{"flags": "fully-random"}` or `{"flags": ["fully-random", "persistent"]}` (nft's
    /// order varies by version): sorted, comma-joined as nft writes several.
    private static func flags(_ body: JSONValue) -> [String] {
        guard body != .null else { return [] }
        var words: [String] = []
        switch body.member("flags") {
        case let .string(flag)?: words.append(flag)
        case let .array(items)?: words.append(items.compactMap(\.stringValue).sorted().joined(separator: ","))
        default: break
        }
        // Anything but flags (addresses, ports) is shown as JSON: not a rule of ours.
        if case let .object(members) = body, members.contains(where: { $0.0 != "flags" }) {
            words.append(body.encoded)
        }
        return words
    }
}
