/// udp: the agent encapsulates every packet in user space, flannel0 (TUN) to a UDP socket
/// (upstream's default port 8285). Leases carry only the PublicIP (no `BackendType`), as
/// upstream 0.7.0's do, so old and new agents read each other's.
public struct UDPBackend: Backend {
    public static let typeName = "udp"
    public static let defaultPort = 8285
    /// IPv4 (20) + UDP (8) around each packet.
    public static let overhead = 28

    public var port: Int

    public init(port: Int = defaultPort) {
        self.port = port
    }

    public static func decode(_ backend: JSONValue) throws(ConfigError) -> UDPBackend {
        UDPBackend(port: try BackendFields(backend).port(default: defaultPort))
    }

    public var description: String { "udp (port \(port))" }

    public func refusal(on host: BackendHost) -> String? {
        let mtu = mtu(on: host)
        guard mtu < 68 else { return nil }
        return "udp backend: \(host.externalName)'s MTU \(host.externalMTU) leaves \(mtu) after \(Self.overhead) bytes of encapsulation, below IPv4's minimum of 68"
    }

    public func mtu(on host: BackendHost) -> Int { host.externalMTU - Self.overhead }

    public func leaseAttributes(publicIP: IPv4Address, device: BackendDeviceIdentity?) -> LeaseAttributes {
        LeaseAttributes(publicIP: publicIP)
    }

    public var forwarding: BackendForwarding { .userSpaceUDP(port: port) }
}
