/// What an agent did with one peer, as its log says it.
public enum PeerEvent: String, Sendable, Equatable {
    case added
    case changed
    case removed
}
