/// `--etcd-api`: which of etcd's APIs holds flannel's keys. `auto` reads the config with v3
/// and falls back to v2 when only v2 has it (etcd 3.x keeps the two stores apart: a config
/// written with `etcdctl set`, as in the walkthrough, is invisible to v3).
public enum EtcdAPI: String, CaseIterable, Sendable {
    case auto, v3, v2

    /// The APIs to ask for the config, in order.
    public var candidates: [EtcdAPI] {
        switch self {
        case .auto: [.v3, .v2]
        case .v3: [.v3]
        case .v2: [.v2]
        }
    }
}
