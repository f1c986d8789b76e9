/// One etcd endpoint from `--etcd-endpoints`: `http://10.12.10.209:2379` or
/// `https://etcd.example:2379`. The scheme decides plaintext or TLS.
public struct EtcdEndpoint: Hashable, Sendable, CustomStringConvertible {
    public enum Host: Hashable, Sendable {
        case ipv4(String)
        case ipv6(String)
        case name(String)
    }

    public var secure: Bool
    public var host: Host
    public var port: Int

    public static let defaultPort = 2379

    public var description: String {
        let scheme = secure ? "https" : "http"
        switch host {
        case let .ipv4(address), let .name(address): return "\(scheme)://\(address):\(port)"
        case let .ipv6(address): return "\(scheme)://[\(address)]:\(port)"
        }
    }

    /// An endpoint list that cannot be used, with the entry at fault.
    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public var entry: String
        public var reason: String
        public var description: String {
            // Never echo credentials someone put into a URL.
            let shown = entry.contains("@") ? "<redacted>@" + (entry.split(separator: "@").last.map(String.init) ?? "") : entry
            return "--etcd-endpoints: \"\(shown)\" \(reason); expected a comma-separated list like https://10.12.10.209:2379,https://10.12.10.200:2379"
        }
    }

    /// Parses the comma-separated list (spaces around commas are tolerated, empty entries are not).
    public static func parseList(_ text: String) throws(ParseError) -> [EtcdEndpoint] {
        let entries = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingWhitespace() }
        guard !(entries.count == 1 && entries[0].isEmpty) else {
            throw ParseError(entry: text, reason: "is empty")
        }
        var endpoints: [EtcdEndpoint] = []
        for entry in entries {
            let endpoint = try parse(entry)
            if !endpoints.contains(endpoint) { endpoints.append(endpoint) }
        }
        return endpoints
    }

    public static func parse(_ entry: String) throws(ParseError) -> EtcdEndpoint {
        guard !entry.isEmpty else { throw ParseError(entry: entry, reason: "is an empty entry") }
        let secure: Bool
        let rest: Substring
        if entry.hasPrefix("https://") {
            secure = true
            rest = entry.dropFirst("https://".count)
        } else if entry.hasPrefix("http://") {
            secure = false
            rest = entry.dropFirst("http://".count)
        } else {
            throw ParseError(entry: entry, reason: "must start with http:// or https://")
        }
        var authority = rest
        if let slash = authority.firstIndex(of: "/") {
            guard authority[slash...].allSatisfy({ $0 == "/" }) else {
                throw ParseError(entry: entry, reason: "has a path; give only scheme, host and port")
            }
            authority = authority[..<slash]
        }
        guard !authority.isEmpty else { throw ParseError(entry: entry, reason: "has no host") }
        guard !authority.contains("@") else {
            throw ParseError(entry: entry, reason: "carries credentials; use --etcd-username and --etcd-password-file instead")
        }

        var hostText: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw ParseError(entry: entry, reason: "has an unclosed [ in an IPv6 address")
            }
            hostText = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw ParseError(entry: entry, reason: "has text after the IPv6 address") }
                portText = after.dropFirst()
            }
            guard let address = IPv6Address(String(hostText)) else {
                throw ParseError(entry: entry, reason: "has an invalid IPv6 address")
            }
            let port = try parsePort(portText, entry: entry)
            return EtcdEndpoint(secure: secure, host: .ipv6(address.description), port: port)
        }
        if let colon = authority.lastIndex(of: ":") {
            hostText = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            hostText = authority
        }
        let port = try parsePort(portText, entry: entry)
        let hostString = String(hostText)
        if let address = IPv4Address(hostString) {
            return EtcdEndpoint(secure: secure, host: .ipv4(address.description), port: port)
        }
        guard hostString.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }),
              hostString.contains(where: { $0.isLetter })
        else {
            throw ParseError(entry: entry, reason: "has an invalid host \"\(hostString)\"")
        }
        return EtcdEndpoint(secure: secure, host: .name(hostString), port: port)
    }

    private static func parsePort(_ text: Substring?, entry: String) throws(ParseError) -> Int {
        guard let text else { return defaultPort }
        guard let port = Int(text), text.allSatisfy(\.isNumber), (1...65_535).contains(port) else {
            throw ParseError(entry: entry, reason: "has an invalid port \"\(text)\"")
        }
        return port
    }
}
