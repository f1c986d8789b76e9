import AgentCore

/// A subnet lease as etcd holds it.
public struct ClusterLease: Equatable, Sendable {
    public var subnet: IPv4Network
    public var publicIP: IPv4Address?
    /// The value decoded (nil when it is not a lease value).
    public var attributes: LeaseAttributes?
    /// Attached to an etcd lease (expires); false for a reservation.
    public var hasTTL: Bool
    public var createRevision: Int64
    public var modRevision: Int64

    public init(subnet: IPv4Network, attributes: LeaseAttributes?, hasTTL: Bool, createRevision: Int64, modRevision: Int64) {
        self.subnet = subnet
        self.attributes = attributes
        publicIP = attributes?.publicIP
        self.hasTTL = hasTTL
        self.createRevision = createRevision
        self.modRevision = modRevision
    }
}
