/// The cluster the control-plane bench measures, the same in the lab and the simulator.
public struct ControlPlaneSetup: Sendable, Equatable {
    /// Agents started together.
    public var hosts = 50
    /// Hosts joining one at a time after the cold start.
    public var joins = 20
    public var etcdMembers = 3
    public var backend = "vxlan"
    /// Short enough that renewals happen within the bench (every half TTL).
    public var leaseTTL = Duration.seconds(60)
    /// How long the cluster rests after the cold start (requests, memory, CPU).
    public var rest = Duration.seconds(60)

    public init() {}

    /// The network config the bench writes.
    public var networkConfig: String { #"{ "Network": "10.1.0.0/16", "Backend": { "Type": "\#(backend)" } }"# }
}
