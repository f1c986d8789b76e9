/// A network config that cannot be used. Names the field, says what is wrong and what to
/// write instead, e.g. `SubnetLen: 31 leaves no room for hosts; use a value from 18 to 30`.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The config field at fault (as written in the docs: `Network`, `Backend.Port`, ...),
    /// or "config" for the document as a whole.
    public var field: String
    public var message: String

    public init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    /// The message may quote the config's own text (from etcd): bounded and escaped.
    public var description: String { "network config: \(field): \(LogText.bounded(message, limit: 400))" }
}
