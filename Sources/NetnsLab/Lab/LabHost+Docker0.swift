import Agent

extension LabHost {
    /// docker0 is missing or has no IPv4 address (docker was not started with `--bip`?).
    public struct NoDocker0: Error, CustomStringConvertible {
        public var host: String
        public var shown: String
        public var description: String { "\(host) has no docker0 with an IPv4 address (ip addr: \(shown)); start docker with --bip from subnet.env" }
    }

    /// docker0's IPv4 address/length and MTU, as `ip -j addr` reports them.
    public func docker0() throws -> (address: String, mtu: Int) {
        let shown = try namespace.check(["ip", "-j", "addr", "show", "docker0"]).stdout
        guard case let .array(links) = try JSONParser.parse(shown), let link = links.first,
              case let .array(addresses)? = link.member("addr_info"),
              let address = addresses.first(where: { $0.member("family")?.stringValue == "inet" }) else {
            throw NoDocker0(host: "h\(index)", shown: shown)
        }
        return ("\(address.member("local")?.stringValue ?? "?")/\(address.member("prefixlen")?.integerValue ?? 0)",
                link.member("mtu")?.integerValue ?? 0)
    }
}
