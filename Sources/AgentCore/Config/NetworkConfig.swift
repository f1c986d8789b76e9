/// The network config stored at `<prefix>/config`, decoded as upstream flannel does:
/// field names match case-insensitively, unknown fields are ignored, SubnetLen/Min/Max get
/// upstream's defaults. Every rule upstream enforces is enforced here with a message that
/// names the field and the fix, plus one upstream forgets (SubnetMin ≤ SubnetMax).
public struct NetworkConfig: Equatable, Sendable {
    public var ipv4: SubnetPlan<IPv4Address>?
    public var ipv6: SubnetPlan<IPv6Address>?
    public var backend: BackendConfig
    /// `EnableNFTables`: the `--ip-masq` and `--iptables-forward-rules` rules go into our own
    /// nftables table instead of iptables chains (upstream's key; default false).
    public var enableNFTables: Bool

    public var enableIPv4: Bool { ipv4 != nil }
    public var enableIPv6: Bool { ipv6 != nil }

    public init(ipv4: SubnetPlan<IPv4Address>?, ipv6: SubnetPlan<IPv6Address>? = nil, backend: BackendConfig,
                enableNFTables: Bool = false) {
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.backend = backend
        self.enableNFTables = enableNFTables
    }

    /// Decodes and validates the config document.
    public static func decode(_ text: String) throws(ConfigError) -> NetworkConfig {
        let document: JSONValue
        do {
            document = try JSONParser.parse(text)
        } catch {
            throw ConfigError(field: "config", "\(error); the config must be a JSON object like {\"Network\": \"10.1.0.0/16\"}")
        }
        guard case .object = document else {
            throw ConfigError(field: "config", "must be a JSON object like {\"Network\": \"10.1.0.0/16\"}, not \(document.typeName)")
        }
        let enableIPv4 = try flag(document, "EnableIPv4", default: true)
        let enableIPv6 = try flag(document, "EnableIPv6", default: false)
        guard enableIPv4 || enableIPv6 else {
            throw ConfigError(field: "EnableIPv4", "both EnableIPv4 and EnableIPv6 are false; enable at least one")
        }
        let ipv4: SubnetPlan<IPv4Address>? = enableIPv4
            ? try plan(document, rules: .ipv4)
            : nil
        let ipv6: SubnetPlan<IPv6Address>? = enableIPv6
            ? try plan(document, rules: .ipv6)
            : nil
        let backend = try BackendConfig.decode(document.member("Backend"))
        let enableNFTables = try flag(document, "EnableNFTables", default: false)
        return NetworkConfig(ipv4: ipv4, ipv6: ipv6, backend: backend, enableNFTables: enableNFTables)
    }

    /// Field names and limits of one address family.
    struct FamilyRules {
        var networkField: String
        var subnetLenField: String
        var subnetMinField: String
        var subnetMaxField: String
        var defaultSubnetLength: Int
        var maximumSubnetLength: Int
        var exampleNetwork: String

        static let ipv4 = FamilyRules(
            networkField: "Network", subnetLenField: "SubnetLen", subnetMinField: "SubnetMin",
            subnetMaxField: "SubnetMax", defaultSubnetLength: 24, maximumSubnetLength: 30,
            exampleNetwork: "10.1.0.0/16")
        static let ipv6 = FamilyRules(
            networkField: "IPv6Network", subnetLenField: "IPv6SubnetLen", subnetMinField: "IPv6SubnetMin",
            subnetMaxField: "IPv6SubnetMax", defaultSubnetLength: 64, maximumSubnetLength: 126,
            exampleNetwork: "fd00:10::/48")
    }

    static func plan<Address: IPAddress>(_ document: JSONValue, rules: FamilyRules) throws(ConfigError) -> SubnetPlan<Address> {
        // Network: required, a CIDR string, host bits masked, not the whole address space.
        guard let networkValue = document.member(rules.networkField), networkValue != .null else {
            throw ConfigError(field: rules.networkField, "is missing; set it to the overlay's CIDR, like {\"\(rules.networkField)\": \"\(rules.exampleNetwork)\"}")
        }
        guard let networkText = networkValue.stringValue else {
            throw ConfigError(field: rules.networkField, "must be a CIDR string like \"\(rules.exampleNetwork)\", not \(networkValue.typeName)")
        }
        let network: IPNetwork<Address>
        do {
            network = try IPNetwork<Address>(parsing: networkText)
        } catch {
            throw ConfigError(field: rules.networkField, "\(error)")
        }
        guard network.prefixLength > 0 else {
            throw ConfigError(field: rules.networkField, "\(networkText) is the whole address space; use a private range like \(rules.exampleNetwork)")
        }

        // SubnetLen: default, or checked against the network and the family maximum.
        let room = rules.maximumSubnetLength - 2
        var subnetLength = try integerField(document, rules.subnetLenField) ?? 0
        if subnetLength == 0 {
            if network.prefixLength <= rules.defaultSubnetLength - 2 {
                subnetLength = rules.defaultSubnetLength
            } else if network.prefixLength <= room {
                subnetLength = network.prefixLength + 2
            } else {
                throw ConfigError(field: rules.networkField, "\(network) is too small: the network prefix must be /\(room) or shorter to hold at least four subnets")
            }
        } else {
            guard subnetLength > 0, subnetLength <= rules.maximumSubnetLength else {
                throw ConfigError(field: rules.subnetLenField, "\(subnetLength) is out of range; use a value from \(min(network.prefixLength + 2, rules.maximumSubnetLength)) to \(rules.maximumSubnetLength)")
            }
            guard subnetLength >= network.prefixLength + 2 else {
                throw ConfigError(field: rules.subnetLenField, "/\(subnetLength) leaves room for fewer than four subnets in \(network); use /\(network.prefixLength + 2) or longer (up to /\(rules.maximumSubnetLength))")
            }
        }

        // SubnetMin/SubnetMax: defaults skip the network's first subnet; explicit values are
        // checked to be inside the network and on a subnet boundary.
        let step = Address.Bits(1) << (Address.bitWidth - subnetLength)
        let defaultMin = Address(bits: network.address.bits + step)
        let defaultMax = Address(bits: network.lastAddress.bits - (step - 1))
        let subnetMin = try boundField(document, rules.subnetMinField, network: network, subnetLength: subnetLength) ?? defaultMin
        let subnetMax = try boundField(document, rules.subnetMaxField, network: network, subnetLength: subnetLength) ?? defaultMax
        guard subnetMin <= subnetMax else {
            throw ConfigError(field: rules.subnetMinField, "\(subnetMin) is above \(rules.subnetMaxField) \(subnetMax); no subnet could be handed out. Swap them or widen the range")
        }
        return SubnetPlan(network: network, subnetLength: subnetLength, subnetMin: subnetMin, subnetMax: subnetMax)
    }

    private static func integerField(_ document: JSONValue, _ field: String) throws(ConfigError) -> Int? {
        guard let value = document.member(field), value != .null else { return nil }
        guard let number = value.integerValue else {
            let shown = value.typeName == "a number" ? value.encoded : value.typeName
            throw ConfigError(field: field, "must be a whole number like 24, not \(shown)")
        }
        return number
    }

    private static func boundField<Address: IPAddress>(
        _ document: JSONValue, _ field: String, network: IPNetwork<Address>, subnetLength: Int
    ) throws(ConfigError) -> Address? {
        guard let value = document.member(field), value != .null else { return nil }
        guard let text = value.stringValue else {
            throw ConfigError(field: field, "must be an address string, not \(value.typeName)")
        }
        let address: Address
        do {
            address = try Address(parsing: text)
        } catch {
            throw ConfigError(field: field, "\(error)")
        }
        guard network.contains(address) else {
            throw ConfigError(field: field, "\(address) is outside Network \(network); pick an address inside it")
        }
        guard IPNetwork<Address>.isAligned(address, to: subnetLength) else {
            let aligned = IPNetwork(address: address, prefixLength: subnetLength).address
            throw ConfigError(field: field, "\(address) is not on a /\(subnetLength) boundary; use \(aligned)")
        }
        return address
    }

    private static func flag(_ document: JSONValue, _ field: String, default defaultValue: Bool) throws(ConfigError) -> Bool {
        guard let value = document.member(field), value != .null else { return defaultValue }
        guard let flag = value.boolValue else {
            throw ConfigError(field: field, "must be true or false, not \(value.typeName)")
        }
        return flag
    }
}
