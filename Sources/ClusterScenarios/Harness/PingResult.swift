/// One echo request's fate.
public enum PingResult: Hashable, Sendable, CustomStringConvertible {
    case reply(ttl: Int)
    /// An ICMP error came back (a proxy's net unreachable).
    case unreachable
    case noAnswer

    public var isReply: Bool { if case .reply = self { true } else { false } }

    public var description: String {
        switch self {
        case let .reply(ttl): "reply ttl=\(ttl)"
        case .unreachable: "unreachable"
        case .noAnswer: "no answer"
        }
    }
}
