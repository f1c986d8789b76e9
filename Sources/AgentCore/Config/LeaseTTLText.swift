/// `--subnet-lease-ttl`: `24h`, `90m`, `8s`, combinations like `1h30m`, or bare seconds.
public enum LeaseTTLText {
    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public var text: String
        public var description: String {
            "--subnet-lease-ttl: \"\(text)\" is not a duration; use e.g. 24h, 90m, 8s or a number of seconds"
        }
    }

    /// As an operator writes it: whole hours as `24h`, anything else in seconds (`5s`).
    public static func text(for ttl: Duration) -> String {
        let seconds = ttl.components.seconds
        return seconds % 3600 == 0 ? "\(seconds / 3600)h" : "\(seconds)s"
    }

    public static func parse(_ text: String) throws(ParseError) -> Duration {
        let trimmed = text.trimmingWhitespace()
        if let seconds = Int64(trimmed), seconds > 0 { return .seconds(seconds) }
        var total: Int64 = 0
        var number = ""
        var sawUnit = false
        for character in trimmed {
            if character.isASCII, character.isNumber {
                number.append(character)
                continue
            }
            guard let value = Int64(number) else { throw ParseError(text: text) }
            switch character {
            case "h": total += value * 3600
            case "m": total += value * 60
            case "s": total += value
            default: throw ParseError(text: text)
            }
            number = ""
            sawUnit = true
        }
        guard sawUnit, number.isEmpty, total > 0 else { throw ParseError(text: text) }
        return .seconds(total)
    }
}
