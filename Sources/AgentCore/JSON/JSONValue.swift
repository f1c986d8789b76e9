/// A JSON document with object members kept in their written order, so that what we
/// encode is byte-for-byte predictable (upstream's Go structs encode in field order)
/// and what we decode can be matched case-insensitively, as Go's encoding/json does.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// Numbers keep their text, so 1 and 1.0 and 1e3 can be told apart when it matters.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case let (.bool(a), .bool(b)): a == b
        case let (.number(a), .number(b)): a == b
        case let (.string(a), .string(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.object(a), .object(b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    public static func integer(_ value: Int) -> JSONValue { .number(String(value)) }

    /// The member named `name`, matched case-insensitively (Go's rule); the last one wins
    /// when a document repeats a name, as in Go.
    public func member(_ name: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        let wanted = name.lowercased()
        return members.last(where: { $0.0.lowercased() == wanted })?.1
    }

    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The value as a whole number, if it is one (no fraction, no exponent, fits Int).
    public var integerValue: Int? {
        guard case let .number(text) = self else { return nil }
        return Int(text)
    }

    public var stringValue: String? {
        guard case let .string(text) = self else { return nil }
        return text
    }

    public var boolValue: Bool? {
        guard case let .bool(value) = self else { return nil }
        return value
    }

    /// Compact JSON text (no spaces), members in stored order.
    public var encoded: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case let .bool(value): out += value ? "true" : "false"
        case let .number(text): out += text
        case let .string(text): Self.writeString(text, to: &out)
        case let .array(items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case let .object(members):
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += "," }
                Self.writeString(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            // Go's encoding/json escapes these too; matching it keeps values byte-identical.
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
