/// What a backend needs to know of the host it runs on: the external interface and the
/// public IP peers reach us at; for a dual-stack network, the IPv6 ones too.
public struct BackendHost: Equatable, Sendable {
    public var publicIP: IPv4Address
    public var externalName: String
    public var externalAddress: IPv4Address
    public var externalMTU: Int
    /// `--public-ipv6`, or the external interface's global IPv6 address; nil when it has none.
    public var publicIPv6: IPv6Address?
    /// The external interface's global IPv6 address (vxlan's local IPv6 endpoint).
    public var externalIPv6Address: IPv6Address?

    public init(publicIP: IPv4Address, externalName: String, externalAddress: IPv4Address, externalMTU: Int,
                publicIPv6: IPv6Address? = nil, externalIPv6Address: IPv6Address? = nil) {
        self.publicIP = publicIP
        self.externalName = externalName
        self.externalAddress = externalAddress
        self.externalMTU = externalMTU
        self.publicIPv6 = publicIPv6
        self.externalIPv6Address = externalIPv6Address
    }
}
