/// The lease this host holds.
public struct HeldLease: Equatable, Sendable {
    public enum Expiry: Equatable, Sendable {
        /// An operator's reservation: no TTL, never renewed, never given one.
        case reservation
        case at(Timestamp)
    }

    public var key: SubnetKey
    public var attributes: LeaseAttributes
    public var expiry: Expiry
    /// The revision of our last write; renewals only rewrite a key still at it.
    public var modRevision: Int64

    public init(key: SubnetKey, attributes: LeaseAttributes, expiry: Expiry, modRevision: Int64) {
        self.key = key
        self.attributes = attributes
        self.expiry = expiry
        self.modRevision = modRevision
    }

    /// The IPv4 half; nil in an IPv6-only network.
    public var subnet: IPv4Network? { key.ipv4 }
    public var isReservation: Bool { expiry == .reservation }
}
