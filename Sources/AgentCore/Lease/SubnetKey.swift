/// The name of a lease under `<prefix>/subnets/`: `10.1.82.0-24`, for dual-stack hosts
/// `10.12.13.0-24&fd00:12:13::-56`, and in IPv6-only networks `0.0.0.0-0&fd00:12:13::-56`
/// (upstream writes the absent IPv4 half as the zero network). A key has at least one half.
public struct SubnetKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The IPv4 half, `0.0.0.0/0` standing for none beside an IPv6 half (upstream's spelling):
    /// stored so, a key is no larger than an IPv4 network and an optional IPv6 one, which the
    /// simulator keeps by the million.
    private let storedIPv4: IPv4Network
    public let ipv6: IPv6Network?

    /// The IPv4 half; nil for an IPv6-only network's key.
    public var ipv4: IPv4Network? { storedIPv4.prefixLength == 0 && ipv6 != nil ? nil : storedIPv4 }

    /// With `ipv6`, the zero network `0.0.0.0/0` is upstream's "no IPv4 half" and is read so:
    /// one etcd key, one value.
    public init(_ ipv4: IPv4Network, ipv6: IPv6Network? = nil) {
        storedIPv4 = ipv4.prefixLength == 0 && ipv6 != nil ? Self.noIPv4 : ipv4
        self.ipv6 = ipv6
    }

    /// The key of an IPv6-only network's lease.
    public init(ipv6Only ipv6: IPv6Network) {
        storedIPv4 = Self.noIPv4
        self.ipv6 = ipv6
    }

    private static let noIPv4 = IPv4Network(address: IPv4Address(bits: 0), prefixLength: 0)

    /// How upstream spells the IPv4 half of an IPv6-only key.
    static let absentIPv4 = "0.0.0.0-0"

    /// A key that does not parse. Callers skip the entry and report this; it is never fatal.
    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public var key: String
        public var reason: String
        public var description: String { "lease key \"\(key)\" is not a subnet key (\(reason)); skipping it" }
    }

    public init(parsing text: String) throws(ParseError) {
        let parts = text.split(separator: "&", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else {
            throw ParseError(key: text, reason: "expected 10.1.82.0-24 or 10.1.82.0-24&fd00:1::-64")
        }
        let ipv6: IPv6Network? = parts.count == 2 ? try Self.parseNetwork(String(parts[1]), whole: text) : nil
        self.ipv6 = ipv6
        if parts[0] == Self.absentIPv4 {
            // The zero network stands for "no IPv4 half"; alone it would be a lease for every address.
            guard ipv6 != nil else { throw ParseError(key: text, reason: "0.0.0.0/0 is no subnet") }
            storedIPv4 = Self.noIPv4
        } else {
            let ipv4: IPv4Network = try Self.parseNetwork(String(parts[0]), whole: text)
            // Another /0 (host bits set) is refused below as not flannel's spelling.
            storedIPv4 = ipv4
        }
        // One subnet, one etcd key: flannel writes keys one way (no leading zeros, RFC 5952
        // IPv6). Another spelling would be a second key whose put or delete the watch would
        // apply to the real key's lease (ours included).
        guard description == text else {
            throw ParseError(key: text, reason: "not written as flannel writes it (\(description))")
        }
    }

    private static func parseNetwork<Address: IPAddress>(_ part: String, whole: String) throws(ParseError) -> IPNetwork<Address> {
        guard let dash = part.lastIndex(of: "-") else {
            throw ParseError(key: whole, reason: "\"\(part)\" has no \"-<prefix length>\"")
        }
        let cidr = part[..<dash] + "/" + part[part.index(after: dash)...]
        do {
            return try IPNetwork<Address>(parsing: String(cidr), strict: true)
        } catch {
            throw ParseError(key: whole, reason: error.reason)
        }
    }

    /// The key's text: what etcd stores after `subnets/`.
    public var description: String {
        let v4 = ipv4.map { "\($0.address)-\($0.prefixLength)" } ?? Self.absentIPv4
        guard let ipv6 else { return v4 }
        return v4 + "&\(ipv6.address)-\(ipv6.prefixLength)"
    }

    /// Whether `other` is another key holding one of our subnets (a dual-stack key sharing
    /// one half with ours).
    public func sharesSubnet(with other: SubnetKey) -> Bool {
        other != self && ((other.ipv4 != nil && other.ipv4 == ipv4) || (other.ipv6 != nil && other.ipv6 == ipv6))
    }

    /// The subnets for people: `10.1.82.0/24`, `10.1.82.0/24 and fd00:0:0:5::/64`, or `fd00:0:0:5::/64`.
    public var subnets: String {
        [ipv4.map { "\($0)" }, ipv6.map { "\($0)" }].compactMap { $0 }.joined(separator: " and ")
    }

    /// IPv4-keyed leases first in address order, then IPv6-only ones in theirs; keys sharing
    /// an IPv4 subnet by their IPv6 halves (none first). A total order: distinct keys differ.
    public static func < (lhs: SubnetKey, rhs: SubnetKey) -> Bool {
        switch (lhs.ipv4, rhs.ipv4) {
        case let (left?, right?) where left != right: left < right
        case (_?, nil): true
        case (nil, _?): false
        default:
            switch (lhs.ipv6, rhs.ipv6) {
            case let (left?, right?): left < right
            case (nil, _?): true
            default: false
            }
        }
    }
}
