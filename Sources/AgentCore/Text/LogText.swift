/// Text from etcd or the network made safe for one log line. Anyone with write access to the
/// prefix chooses lease keys and values (up to etcd's 1.5 MiB each) and the config's strings:
/// verbatim, a newline would forge log lines and a large value would flood the journal. So
/// control characters, line and paragraph separators, bidirectional overrides and
/// backslashes are escaped, and anything past `limit` characters is cut and its size said.
public enum LogText {
    /// Characters kept from one value: a lease key or a reason fits many times over.
    public static let limit = 160

    public static func bounded(_ text: some StringProtocol, limit: Int = limit) -> String {
        escaped(text, limit: limit, quote: false)
    }

    /// `bounded`, in double quotes (quotes inside escaped): for values that may be empty or
    /// carry spaces.
    public static func quoted(_ text: some StringProtocol, limit: Int = limit) -> String {
        "\"" + escaped(text, limit: limit, quote: true) + "\""
    }

    private static func escaped(_ text: some StringProtocol, limit: Int, quote: Bool) -> String {
        // The usual case, a short plain key: as it is, without a pass per character.
        if text.utf8.count <= limit, text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") && !(quote && $0 == UInt8(ascii: "\"")) }) {
            return String(text)
        }
        var result = ""
        var kept = 0
        var consumedBytes = 0
        for scalar in text.unicodeScalars {
            if kept >= limit {
                let rest = text.utf8.count - consumedBytes
                result += "…(\(rest) more bytes)"
                return result
            }
            consumedBytes += scalar.utf8.count
            kept += 1
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\\": result += "\\\\"
            case "\"" where quote: result += "\\\""
            default:
                if needsEscape(scalar) {
                    result += "\\u{" + String(scalar.value, radix: 16) + "}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    /// C0 and C1 controls, DEL, the line and paragraph separators, and the bidirectional
    /// embeddings, overrides and isolates (which reorder what a terminal shows).
    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F: true
        default: false
        }
    }
}
