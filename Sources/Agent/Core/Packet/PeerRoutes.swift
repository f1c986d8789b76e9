/// Which peer's public IP carries packets for a destination: longest-prefix match over the
/// peers' subnets. Built once per peer change, read per packet: one dictionary probe per
/// distinct prefix length (normally one).
public struct PeerRoutes: Sendable, Equatable {
    /// Prefix lengths present, longest first.
    private var lengths: [Int] = []
    private var table: [IPv4Network: IPv4Address] = [:]
    private var publicIPs: Set<IPv4Address> = []

    public init() {}

    public init(_ peers: [Peer]) {
        for peer in peers { table[peer.subnet] = peer.publicIP }
        lengths = Set(table.keys.map(\.prefixLength)).sorted(by: >)
        publicIPs = Set(table.values)
    }

    public var isEmpty: Bool { table.isEmpty }
    public var count: Int { table.count }

    public func publicIP(for destination: IPv4Address) -> IPv4Address? {
        for length in lengths {
            if let hit = table[IPv4Network(address: destination, prefixLength: length)] { return hit }
        }
        return nil
    }

    /// Whether `address` is some peer's public IP (the inbound filter).
    public func isPeer(_ address: IPv4Address) -> Bool {
        publicIPs.contains(address)
    }
}
