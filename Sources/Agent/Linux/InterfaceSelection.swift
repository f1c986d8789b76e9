import FoundationEssentials

/// Chooses the interface and public IP as upstream does: `--iface` (names or addresses, in
/// order), then `--iface-regex`, then `--iface-can-reach`, else the default route's
/// interface; `--public-ip` overrides the advertised address.
public struct InterfaceSelection: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public var ifaces: [String]
    public var ifaceRegexes: [String]
    public var canReach: String?
    public var publicIP: String?

    public init(ifaces: [String], ifaceRegexes: [String], canReach: String?, publicIP: String?) {
        self.ifaces = ifaces
        self.ifaceRegexes = ifaceRegexes
        self.canReach = canReach
        self.publicIP = publicIP
    }

    /// The external interface and the address to advertise in the lease.
    public func select(from interfaces: [NetworkInterface], defaultRoute: String?,
                       routeSource: (IPv4Address) -> IPv4Address?) throws(Failure) -> (NetworkInterface, IPv4Address) {
        let chosen = try choose(interfaces, defaultRoute: defaultRoute, routeSource: routeSource)
        guard let publicIP else { return (chosen, chosen.address) }
        guard let address = IPv4Address(publicIP) else {
            throw Failure(description: "--public-ip: \"\(publicIP)\" is not an IPv4 address")
        }
        return (chosen, address)
    }

    private func choose(_ interfaces: [NetworkInterface], defaultRoute: String?,
                        routeSource: (IPv4Address) -> IPv4Address?) throws(Failure) -> NetworkInterface {
        let usable = interfaces.filter { $0.name != "lo" }
        let names = usable.map(\.description).joined(separator: ", ")
        if !ifaces.isEmpty {
            for wanted in ifaces {
                if let address = IPv4Address(wanted), let match = interfaces.first(where: { $0.hasIPv4 && $0.address == address }) { return match }
                if let match = interfaces.first(where: { $0.name == wanted }) { return match }
            }
            throw Failure(description: "--iface: none of \(ifaces.joined(separator: ", ")) is an up interface with an IPv4 address, or the name of one with a global IPv6 address only (have: \(names))")
        }
        if !ifaceRegexes.isEmpty {
            for pattern in ifaceRegexes {
                guard let regex = try? Regex(pattern) else {
                    throw Failure(description: "--iface-regex: \"\(pattern)\" is not a valid regular expression")
                }
                for candidate in interfaces {
                    for text in [candidate.name] + (candidate.hasIPv4 ? [candidate.address.description] : []) {
                        if text.contains(regex) { return candidate }
                    }
                }
            }
            throw Failure(description: "--iface-regex: no interface name or address matches \(ifaceRegexes.joined(separator: ", ")) (have: \(names))")
        }
        if let canReach {
            guard let target = IPv4Address(canReach) else {
                throw Failure(description: "--iface-can-reach: \"\(canReach)\" is not an IPv4 address")
            }
            guard let source = routeSource(target), let match = interfaces.first(where: { $0.address == source }) else {
                throw Failure(description: "--iface-can-reach: no route to \(target) from an interface with an IPv4 address")
            }
            return match
        }
        guard let defaultRoute, let match = interfaces.first(where: { $0.name == defaultRoute }) else {
            throw Failure(description: "no default route to choose the public interface from; pass --iface=<name or address> (have: \(names))")
        }
        return match
    }
}
