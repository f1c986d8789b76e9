/// `/run/flannel/subnet.env`: what the host's container runtime reads to set up its bridge,
/// and what the agent reads back after a restart to ask for the same subnet again.
///
/// An IPv6-only network's file has no `FLANNEL_NETWORK`/`FLANNEL_SUBNET` (as upstream's).
public struct SubnetFile: Equatable, Sendable {
    public var network: IPv4Network?
    /// The host's subnet (masked). Rendered as its first host address: `10.1.82.1/24`.
    public var subnet: IPv4Network?
    public var ipv6Network: IPv6Network?
    public var ipv6Subnet: IPv6Network?
    public var mtu: Int
    public var ipMasq: Bool

    public init(network: IPv4Network?, subnet: IPv4Network?, ipv6Network: IPv6Network? = nil,
                ipv6Subnet: IPv6Network? = nil, mtu: Int, ipMasq: Bool) {
        self.network = network
        self.subnet = subnet
        self.ipv6Network = ipv6Network
        self.ipv6Subnet = ipv6Subnet
        self.mtu = mtu
        self.ipMasq = ipMasq
    }

    /// The file for our subnets.
    public init(_ subnets: OwnSubnets, mtu: Int, ipMasq: Bool) {
        self.init(network: subnets.network, subnet: subnets.subnet, ipv6Network: subnets.ipv6Network,
                  ipv6Subnet: subnets.ipv6Subnet, mtu: mtu, ipMasq: ipMasq)
    }

    /// The file's text, in upstream's order, `KEY=value` lines, no quotes.
    public var rendered: String {
        var lines: [String] = []
        if let network { lines.append("FLANNEL_NETWORK=\(network)") }
        if let subnet { lines.append("FLANNEL_SUBNET=\(subnet.firstHost)/\(subnet.prefixLength)") }
        if let ipv6Network { lines.append("FLANNEL_IPV6_NETWORK=\(ipv6Network)") }
        if let ipv6Subnet { lines.append("FLANNEL_IPV6_SUBNET=\(ipv6Subnet.firstHost)/\(ipv6Subnet.prefixLength)") }
        lines.append("FLANNEL_MTU=\(mtu)")
        lines.append("FLANNEL_IPMASQ=\(ipMasq)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A subnet file that cannot be read back. The agent then ignores the file (and says so)
    /// rather than refusing to start: the file is a hint, etcd is the truth.
    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public var line: Int?
        public var reason: String
        public var description: String {
            "subnet file: " + (line.map { "line \($0): " } ?? "") + reason
        }
    }

    /// Parses a file written by us or by upstream. Blank lines and `#` comments are skipped,
    /// surrounding quotes are tolerated (hand-edited files), unknown keys are ignored.
    public static func parse(_ text: String) throws(ParseError) -> SubnetFile {
        var values: [String: (value: String, line: Int)] = [:]
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: Self.isLineBreak).enumerated() {
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ParseError(line: index + 1, reason: "expected KEY=value, found \"\(line)\"")
            }
            var value = String(line[line.index(after: equals)...]).trimmingWhitespace()
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            values[String(line[..<equals]).trimmingWhitespace()] = (value, index + 1)
        }
        func required(_ key: String) throws(ParseError) -> (value: String, line: Int) {
            guard let entry = values[key] else { throw ParseError(line: nil, reason: "\(key) is missing") }
            return entry
        }
        func parseNetwork<Address: IPAddress>(_ key: String, as: Address.Type) throws(ParseError) -> IPNetwork<Address>? {
            guard let entry = values[key] else { return nil }
            do {
                return try IPNetwork<Address>(parsing: entry.value)
            } catch {
                throw ParseError(line: entry.line, reason: "\(key): \(error)")
            }
        }
        let network = try parseNetwork("FLANNEL_NETWORK", as: IPv4Address.self)
        let subnet = try parseNetwork("FLANNEL_SUBNET", as: IPv4Address.self)
        let ipv6Network = try parseNetwork("FLANNEL_IPV6_NETWORK", as: IPv6Address.self)
        let ipv6Subnet = try parseNetwork("FLANNEL_IPV6_SUBNET", as: IPv6Address.self)
        // Each family comes as a pair; an IPv6-only network's file has only the IPv6 one.
        if network == nil && subnet == nil && ipv6Network == nil && ipv6Subnet == nil {
            throw ParseError(line: nil, reason: "FLANNEL_NETWORK and FLANNEL_SUBNET are missing (an IPv6-only file has FLANNEL_IPV6_NETWORK and FLANNEL_IPV6_SUBNET instead)")
        }
        for (name, present, partner) in [("FLANNEL_NETWORK", network != nil, subnet != nil), ("FLANNEL_SUBNET", subnet != nil, network != nil),
                                         ("FLANNEL_IPV6_NETWORK", ipv6Network != nil, ipv6Subnet != nil), ("FLANNEL_IPV6_SUBNET", ipv6Subnet != nil, ipv6Network != nil)]
            where !present && partner {
            throw ParseError(line: nil, reason: "\(name) is missing")
        }
        // A /32 (/128) leaves no address for the bridge (subnet.env names the first host).
        if let subnet, subnet.prefixLength >= IPv4Address.bitWidth {
            throw ParseError(line: values["FLANNEL_SUBNET"]?.line, reason: "FLANNEL_SUBNET \(subnet) leaves no address for the bridge")
        }
        if let ipv6Subnet, ipv6Subnet.prefixLength >= IPv6Address.bitWidth {
            throw ParseError(line: values["FLANNEL_IPV6_SUBNET"]?.line, reason: "FLANNEL_IPV6_SUBNET \(ipv6Subnet) leaves no address for the bridge")
        }

        let mtuEntry = try required("FLANNEL_MTU")
        guard let mtu = Int(mtuEntry.value), mtu > 0 else {
            throw ParseError(line: mtuEntry.line, reason: "FLANNEL_MTU \"\(mtuEntry.value)\" is not a positive number")
        }
        var ipMasq = false
        if let entry = values["FLANNEL_IPMASQ"] {
            guard let flag = Bool(entry.value.lowercased()) else {
                throw ParseError(line: entry.line, reason: "FLANNEL_IPMASQ \"\(entry.value)\" is not true or false")
            }
            ipMasq = flag
        }
        return SubnetFile(
            network: network, subnet: subnet,
            ipv6Network: ipv6Network,
            ipv6Subnet: ipv6Subnet,
            mtu: mtu, ipMasq: ipMasq)
    }
}

extension SubnetFile {
    /// The subnet a previous run held, for asking for it again: only `FLANNEL_SUBNET` is
    /// needed (as upstream reads it), so a hand-written or older file still gives the hint.
    /// Returns nil when there is no usable `FLANNEL_SUBNET` line.
    /// "\n", and "\r\n" (one Character in Swift, so splitting on "\n" alone misses it).
    static func isLineBreak(_ character: Character) -> Bool { character == "\n" || character == "\r\n" }

    public static func previousSubnet(in text: String) -> IPv4Network? {
        previous("FLANNEL_SUBNET", in: text)
    }

    /// The IPv6 subnet a previous run held (`FLANNEL_IPV6_SUBNET`), the same way.
    public static func previousIPv6Subnet(in text: String) -> IPv6Network? {
        previous("FLANNEL_IPV6_SUBNET", in: text)
    }

    private static func previous<Address: IPAddress>(_ name: String, in text: String) -> IPNetwork<Address>? {
        for rawLine in text.split(whereSeparator: isLineBreak) {
            let line = rawLine.trimmingWhitespace()
            guard line.hasPrefix(name), let equals = line.firstIndex(of: "="),
                  line[..<equals].trimmingWhitespace() == name else { continue }
            var value = String(line[line.index(after: equals)...]).trimmingWhitespace()
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            return IPNetwork<Address>(value)
        }
        return nil
    }
}
