/// What came back for a UDP datagram.
public enum ProbeResult: Hashable, Sendable, CustomStringConvertible {
    /// ICMP net unreachable (the udp proxy has no route).
    case netUnreachable
    /// Nothing within the wait.
    case noAnswer
    /// Anything else (port unreachable, an answer).
    case other(String)

    public var description: String {
        switch self {
        case .netUnreachable: "net unreachable"
        case .noAnswer: "no answer"
        case let .other(text): text
        }
    }
}
