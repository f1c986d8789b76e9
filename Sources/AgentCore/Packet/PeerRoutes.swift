/// Which peer's public IP carries packets for a destination: longest-prefix match over the
/// peers' subnets. Built once per peer change, read per packet. Up to `scanLimit` peers (a
/// host's usual handful) are found by a scan over plain integers, longest prefix first: no
/// hashing, a few cache lines, which is what a packet that wakes a cold thread pays for.
/// Beyond that, one dictionary probe per distinct prefix length (normally one).
public struct PeerRoutes: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        var network: UInt32
        var mask: UInt32
        var publicIP: IPv4Address
    }

    static let scanLimit = 16

    /// Prefix lengths present, longest first.
    private var lengths: [Int] = []
    private var table: [IPv4Network: IPv4Address] = [:]
    private var publicIPs: Set<IPv4Address> = []
    /// Every route, longest prefix first, when there are at most `scanLimit`.
    private var entries: [Entry]?

    public init() { self.init([]) }

    public init(_ peers: [Peer]) {
        for peer in peers { if let subnet = peer.subnet { table[subnet] = peer.publicIP } }
        lengths = Set(table.keys.map(\.prefixLength)).sorted(by: >)
        publicIPs = Set(table.values)
        if table.count <= Self.scanLimit {
            entries = table.sorted { ($0.key.prefixLength, $0.key.address.bits) > ($1.key.prefixLength, $1.key.address.bits) }.map { subnet, publicIP in
                Entry(network: subnet.address.bits & subnet.mask, mask: subnet.mask, publicIP: publicIP)
            }
        }
    }

    public var isEmpty: Bool { table.isEmpty }
    public var count: Int { table.count }

    @inline(__always)
    public func publicIP(for destination: IPv4Address) -> IPv4Address? {
        if let entries {
            for entry in entries where destination.bits & entry.mask == entry.network { return entry.publicIP }
            return nil
        }
        for length in lengths {
            if let hit = table[IPv4Network(address: destination, prefixLength: length)] { return hit }
        }
        return nil
    }

    /// Whether `address` is some peer's public IP (the inbound filter).
    @inline(__always)
    public func isPeer(_ address: IPv4Address) -> Bool {
        if let entries { return entries.contains { $0.publicIP == address } }
        return publicIPs.contains(address)
    }
}
