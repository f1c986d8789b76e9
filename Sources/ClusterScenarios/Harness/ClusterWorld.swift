/// Which world a harness is.
public enum ClusterWorld: String, Sendable, Hashable, CaseIterable {
    case simulator
    case lab
}
