/// The `Backend` object of the network config, decoded for the backends this agent runs.
public enum BackendConfig: Equatable, Sendable {
    /// User-space encapsulation over UDP (upstream default port 8285).
    case udp(port: Int)
    /// Kernel VXLAN. `port` is the UDP port (Linux's default 8472 when the config says 0);
    /// `mtu` 0 means "external MTU − 50".
    case vxlan(vni: Int, port: Int, directRouting: Bool, mtu: Int)
    /// Plain routes via each peer's public IP.
    case hostGW

    public static let defaultUDPPort = 8285
    public static let defaultVXLANPort = 8472
    public static let defaultVNI = 1

    public static let supportedTypes = ["udp", "vxlan", "host-gw"]

    /// The `BackendType` written into leases ("udp" leases omit it).
    public var typeName: String {
        switch self {
        case .udp: "udp"
        case .vxlan: "vxlan"
        case .hostGW: "host-gw"
        }
    }

    /// Decodes `Backend`. Absent means udp, as upstream's code does.
    static func decode(_ value: JSONValue?) throws(ConfigError) -> BackendConfig {
        guard let value, value != .null else { return .udp(port: defaultUDPPort) }
        guard case .object = value else {
            throw ConfigError(field: "Backend", "must be an object like {\"Type\": \"vxlan\"}, not \(value.typeName)")
        }
        guard let typeValue = value.member("Type") else {
            throw ConfigError(field: "Backend.Type", "is missing; set it to one of \(supportedTypes.joined(separator: ", "))")
        }
        guard let rawType = typeValue.stringValue else {
            throw ConfigError(field: "Backend.Type", "must be a string such as \"vxlan\", not \(typeValue.typeName)")
        }
        switch rawType.lowercased() {
        case "udp":
            return .udp(port: try port(value, default: defaultUDPPort))
        case "vxlan":
            let vni = try integer(value, "VNI", default: defaultVNI, range: 0...16_777_215,
                                  hint: "a VXLAN network identifier from 0 to 16777215 (default 1)")
            let port = try port(value, default: defaultVXLANPort)
            let direct = try boolean(value, "DirectRouting", default: false)
            let mtu = try integer(value, "MTU", default: 0, range: 0...65_535,
                                  hint: "the device MTU (68 to 65535), or 0 for the external MTU − 50")
            if mtu != 0 && mtu < 68 {
                throw ConfigError(field: "Backend.MTU", "\(mtu) is below IPv4's minimum of 68; use 68 to 65535, or 0 for the external MTU − 50")
            }
            return .vxlan(vni: vni, port: port, directRouting: direct, mtu: mtu)
        case "host-gw":
            return .hostGW
        case "ipip", "wireguard", "ipsec", "alloc", "gce", "aws-vpc", "ali-vpc", "tencent-vpc", "extension":
            throw ConfigError(field: "Backend.Type", "\"\(rawType)\" is an upstream flannel backend that this agent does not implement; use one of \(supportedTypes.joined(separator: ", "))")
        case "":
            throw ConfigError(field: "Backend.Type", "is empty; set it to one of \(supportedTypes.joined(separator: ", "))")
        default:
            throw ConfigError(field: "Backend.Type", "\"\(rawType)\" is not a known backend; use one of \(supportedTypes.joined(separator: ", "))")
        }
    }

    private static func port(_ backend: JSONValue, default defaultPort: Int) throws(ConfigError) -> Int {
        let value = try integer(backend, "Port", default: 0, range: 0...65_535,
                                hint: "a UDP port from 1 to 65535, or leave it out for \(defaultPort)")
        return value == 0 ? defaultPort : value
    }

    private static func integer(_ backend: JSONValue, _ name: String, default defaultValue: Int,
                                range: ClosedRange<Int>, hint: String) throws(ConfigError) -> Int {
        guard let value = backend.member(name), value != .null else { return defaultValue }
        guard let number = value.integerValue else {
            throw ConfigError(field: "Backend.\(name)", "must be \(hint), not \(value.typeName == "a number" ? "\(value.encoded)" : value.typeName)")
        }
        guard range.contains(number) else {
            throw ConfigError(field: "Backend.\(name)", "\(number) is out of range; use \(hint)")
        }
        return number
    }

    private static func boolean(_ backend: JSONValue, _ name: String, default defaultValue: Bool) throws(ConfigError) -> Bool {
        guard let value = backend.member(name), value != .null else { return defaultValue }
        guard let flag = value.boolValue else {
            throw ConfigError(field: "Backend.\(name)", "must be true or false, not \(value.typeName)")
        }
        return flag
    }
}
