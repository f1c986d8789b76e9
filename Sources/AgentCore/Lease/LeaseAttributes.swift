/// The value stored under a subnet key: who holds the subnet and how to reach it.
///
/// Encodes exactly as upstream flannel does (Go struct field order, `PublicIPv6` always
/// present, `null` without IPv6; `BackendType`/`BackendData`/`BackendV6Data` omitted when
/// empty), and decodes upstream's current values as well as the old etcd v2 form
/// `{"PublicIP":"10.12.10.193"}` from the walkthrough.
public struct LeaseAttributes: Equatable, Sendable {
    public var publicIP: IPv4Address
    public var publicIPv6: IPv6Address?
    /// "udp" leases written by upstream carry no type; we read an absent type as "udp".
    public var backendType: String?
    public var backendData: JSONValue?
    public var backendV6Data: JSONValue?

    public init(publicIP: IPv4Address, publicIPv6: IPv6Address? = nil, backendType: String? = nil,
                backendData: JSONValue? = nil, backendV6Data: JSONValue? = nil) {
        self.publicIP = publicIP
        self.publicIPv6 = publicIPv6
        self.backendType = backendType
        self.backendData = backendData
        self.backendV6Data = backendV6Data
    }

    /// Whether this value is the host's whose public addresses these are: by PublicIP, or by
    /// PublicIPv6 when either PublicIP is 0.0.0.0 (an IPv6-only network's lease, as upstream
    /// writes it: every such host's PublicIP is 0.0.0.0). The same answer whichever side asks.
    public func isHeld(byPublicIP ownIP: IPv4Address, publicIPv6 ownIPv6: IPv6Address?) -> Bool {
        guard ownIP == .any || publicIP == .any else { return publicIP == ownIP }
        return ownIPv6 != nil && publicIPv6 == ownIPv6
    }

    /// Whether `other` is a value written by the same host as this one.
    public func isSameHost(as other: LeaseAttributes) -> Bool {
        other.isHeld(byPublicIP: publicIP, publicIPv6: publicIPv6)
    }

    /// The holder for people: its PublicIP, or its PublicIPv6 where PublicIP is 0.0.0.0.
    public var holder: String {
        guard publicIP == .any, let publicIPv6 else { return "\(publicIP)" }
        return "\(publicIPv6)"
    }

    /// The backend that wrote the lease: `BackendType`, or "udp" when absent (old values).
    public var effectiveBackendType: String { backendType ?? "udp" }

    /// A lease value that does not decode. The entry is skipped and reported, never fatal.
    public struct DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { "lease value is not usable: \(reason)" }
    }

    public var encoded: String {
        var members: [(String, JSONValue)] = [
            ("PublicIP", .string(publicIP.description)),
            ("PublicIPv6", publicIPv6.map { .string($0.description) } ?? .null),
        ]
        if let backendType, !backendType.isEmpty { members.append(("BackendType", .string(backendType))) }
        if let backendData, backendData != .null { members.append(("BackendData", backendData)) }
        if let backendV6Data, backendV6Data != .null { members.append(("BackendV6Data", backendV6Data)) }
        return JSONValue.object(members).encoded
    }

    public static func decode(_ text: String) throws(DecodeError) -> LeaseAttributes {
        let document: JSONValue
        do {
            document = try JSONParser.parse(text)
        } catch {
            throw DecodeError(reason: "\(error)")
        }
        guard case .object = document else {
            throw DecodeError(reason: "expected a JSON object, got \(document.typeName)")
        }
        guard let publicIPValue = document.member("PublicIP") else {
            throw DecodeError(reason: "PublicIP is missing")
        }
        guard let publicIPText = publicIPValue.stringValue, let publicIP = IPv4Address(publicIPText) else {
            throw DecodeError(reason: "PublicIP \(publicIPValue.encoded) is not an IPv4 address")
        }
        var publicIPv6: IPv6Address?
        if let value = document.member("PublicIPv6"), value != .null {
            guard let text = value.stringValue, let address = IPv6Address(text) else {
                throw DecodeError(reason: "PublicIPv6 \(value.encoded) is not an IPv6 address")
            }
            publicIPv6 = address
        }
        var backendType: String?
        if let value = document.member("BackendType"), value != .null {
            guard let text = value.stringValue else {
                throw DecodeError(reason: "BackendType must be a string, not \(value.typeName)")
            }
            backendType = text.isEmpty ? nil : text
        }
        let backendData = document.member("BackendData").flatMap { $0 == .null ? nil : $0 }
        let backendV6Data = document.member("BackendV6Data").flatMap { $0 == .null ? nil : $0 }
        return LeaseAttributes(publicIP: publicIP, publicIPv6: publicIPv6, backendType: backendType,
                               backendData: backendData, backendV6Data: backendV6Data)
    }
}
