/// Flags of upstream flanneld 0.7.0 and 0.20.2 that select a mode this agent does not have
/// (Kubernetes subnet manager, client/server, multi-network, IPv6). Each is accepted by the
/// parser so that it can be refused with its reason, instead of "unknown option".
public struct UnsupportedFlag: Sendable, Equatable {
    public var name: String
    public var isBoolean: Bool
    /// A boolean given this value changes nothing upstream either (its default), so it is
    /// accepted with a note rather than refused.
    public var inertValue: Bool?
    /// Why it is refused and what to do instead.
    public var reason: String

    static let kubernetes = "it belongs to the Kubernetes subnet manager (-kube-subnet-mgr), which needs a Kubernetes API server; this agent keeps leases in etcd only: remove it and give -etcd-endpoints"
    static let clientServer = "flannel 0.7's client/server mode was removed upstream in 0.8.0; run flanneld on every host against etcd (-etcd-endpoints) instead: remove it"
    static let multiNetwork = "flannel 0.7's multi-network mode was removed upstream in 0.8.0; run one flanneld per network, each with its own -etcd-prefix and -subnet-file: remove it"

    public static let all: [UnsupportedFlag] = [
        .init(name: "kube-subnet-mgr", isBoolean: true, inertValue: false,
              reason: "the Kubernetes subnet manager needs a Kubernetes API server; this agent keeps leases in etcd only: remove it and give -etcd-endpoints"),
        .init(name: "kube-api-url", isBoolean: false, inertValue: nil, reason: kubernetes),
        .init(name: "kube-annotation-prefix", isBoolean: false, inertValue: nil, reason: kubernetes),
        .init(name: "kubeconfig-file", isBoolean: false, inertValue: nil, reason: kubernetes),
        .init(name: "net-config-path", isBoolean: false, inertValue: nil,
              reason: "it names the Kubernetes subnet manager's config file; this agent reads the network config from etcd (<etcd-prefix>/config): remove it and put the config there"),
        .init(name: "set-node-network-unavailable", isBoolean: true, inertValue: true, reason: kubernetes),
        .init(name: "listen", isBoolean: false, inertValue: nil, reason: clientServer),
        .init(name: "remote", isBoolean: false, inertValue: nil, reason: clientServer),
        .init(name: "remote-cafile", isBoolean: false, inertValue: nil, reason: clientServer),
        .init(name: "remote-certfile", isBoolean: false, inertValue: nil, reason: clientServer),
        .init(name: "remote-keyfile", isBoolean: false, inertValue: nil, reason: clientServer),
        .init(name: "networks", isBoolean: false, inertValue: nil, reason: multiNetwork),
        .init(name: "watch-networks", isBoolean: true, inertValue: false, reason: multiNetwork),
        .init(name: "subnet-dir", isBoolean: false, inertValue: nil, reason: multiNetwork),
    ]

    public static func named(_ name: String) -> UnsupportedFlag? { all.first { $0.name == name } }

    /// What a given value means: nil when it is inert (a note is enough), else the refusal.
    public func refusal(value: String) -> String? {
        if isBoolean, let inertValue, (try? FlanneldOptions.boolean(value)) == inertValue { return nil }
        return "-\(name): \(reason)"
    }
}
