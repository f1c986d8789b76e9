/// What a backend needs to know of the host it runs on: the external interface and the
/// public IP peers reach us at.
public struct BackendHost: Equatable, Sendable {
    public var publicIP: IPv4Address
    public var externalName: String
    public var externalAddress: IPv4Address
    public var externalMTU: Int

    public init(publicIP: IPv4Address, externalName: String, externalAddress: IPv4Address, externalMTU: Int) {
        self.publicIP = publicIP
        self.externalName = externalName
        self.externalAddress = externalAddress
        self.externalMTU = externalMTU
    }
}
