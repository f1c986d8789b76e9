/// `--subnet-lease-ttl`: `24h`, `90m`, `8s`, combinations like `1h30m`, or bare seconds.
public enum LeaseTTLText {
    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public var text: String
        public var tooLong = false
        public var description: String {
            if tooLong {
                return "--subnet-lease-ttl: \"\(LogText.bounded(text, limit: 40))\" is longer than etcd's longest lease (\(LeaseTTLText.maximumSeconds) s, about 285 years); use e.g. 24h"
            }
            return "--subnet-lease-ttl: \"\(LogText.bounded(text, limit: 40))\" is not a duration; use e.g. 24h, 90m, 8s or a number of seconds"
        }
    }

    /// etcd's `MaxLeaseTTL`: it refuses a longer lease, and any longer value risks overflow.
    public static let maximumSeconds: Int64 = 9_000_000_000

    /// As an operator writes it: whole hours as `24h`, anything else in seconds (`5s`).
    public static func text(for ttl: Duration) -> String {
        let seconds = ttl.components.seconds
        return seconds % 3600 == 0 ? "\(seconds / 3600)h" : "\(seconds)s"
    }

    public static func parse(_ text: String) throws(ParseError) -> Duration {
        let trimmed = text.trimmingWhitespace()
        if let seconds = Int64(trimmed), seconds > 0 {
            guard seconds <= maximumSeconds else { throw ParseError(text: text, tooLong: true) }
            return .seconds(seconds)
        }
        if trimmed.allSatisfy({ $0.isASCII && $0.isNumber }), !trimmed.isEmpty, Int64(trimmed) == nil {
            throw ParseError(text: text, tooLong: true)  // digits only, beyond Int64
        }
        var total: Int64 = 0
        var number = ""
        var sawUnit = false
        for character in trimmed {
            if character.isASCII, character.isNumber {
                number.append(character)
                continue
            }
            let unit: Int64
            switch character {
            case "h": unit = 3600
            case "m": unit = 60
            case "s": unit = 1
            default: throw ParseError(text: text)
            }
            guard !number.isEmpty else { throw ParseError(text: text) }
            guard let value = Int64(number), value <= maximumSeconds / unit else { throw ParseError(text: text, tooLong: true) }
            total += value * unit
            guard total <= maximumSeconds else { throw ParseError(text: text, tooLong: true) }
            number = ""
            sawUnit = true
        }
        guard sawUnit, number.isEmpty, total > 0 else { throw ParseError(text: text) }
        return .seconds(total)
    }
}
