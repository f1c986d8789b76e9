/// What identifies a backend's device to peers, and so goes into our lease: vxlan's VTEP MAC,
/// wireguard's public key.
public enum BackendDeviceIdentity: Equatable, Sendable, CustomStringConvertible {
    case mac(MACAddress)
    case publicKey(WireGuardKey)

    public var mac: MACAddress? {
        if case let .mac(mac) = self { mac } else { nil }
    }

    public var publicKey: WireGuardKey? {
        if case let .publicKey(key) = self { key } else { nil }
    }

    public var description: String {
        switch self {
        case let .mac(mac): "MAC \(mac)"
        case let .publicKey(key): "public key \(key)"
        }
    }
}
