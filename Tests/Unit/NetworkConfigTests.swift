import Agent
import Testing

@Suite("Network config (<prefix>/config)")
struct NetworkConfigTests {
    @Test func walkthroughConfigGetsUpstreamDefaults() throws {
        let config = try NetworkConfig.decode(#"{ "Network": "10.1.0.0/16" }"#)
        let plan = try #require(config.ipv4)
        #expect(plan.network == IPv4Network("10.1.0.0/16"))
        #expect(plan.subnetLength == 24)
        #expect(plan.subnetMin == IPv4Address(10, 1, 1, 0))
        #expect(plan.subnetMax == IPv4Address(10, 1, 255, 0))
        #expect(plan.capacity == 255)
        #expect(config.backend == BackendConfig(UDPBackend(port: 8285)))
        #expect(!config.enableIPv6)
    }

    @Test func fieldNamesAreCaseInsensitiveAndUnknownFieldsIgnored() throws {
        let config = try NetworkConfig.decode(#"{"network":"10.5.0.0/16","SUBNETLEN":26,"Comment":"ours","backend":{"type":"VXLAN","vni":4,"port":4789}}"#)
        #expect(config.ipv4?.subnetLength == 26)
        #expect(config.backend == BackendConfig(VXLANBackend(vni: 4, port: 4789)))
    }

    @Test func hostBitsInNetworkAreMasked() throws {
        #expect(try NetworkConfig.decode(#"{"Network":"10.1.2.3/16"}"#).ipv4?.network == IPv4Network("10.1.0.0/16"))
    }

    @Test(arguments: [
        // network prefix ≤ 22 → /24; else prefix + 2
        ("10.0.0.0/8", 24, "10.0.1.0", "10.255.255.0"),
        ("10.1.0.0/22", 24, "10.1.1.0", "10.1.3.0"),
        ("10.1.0.0/23", 25, "10.1.0.128", "10.1.1.128"),
        ("10.1.0.0/28", 30, "10.1.0.4", "10.1.0.12"),
    ])
    func subnetLengthDefaults(network: String, length: Int, min: String, max: String) throws {
        let plan = try #require(try NetworkConfig.decode(#"{"Network":"\#(network)"}"#).ipv4)
        #expect(plan.subnetLength == length)
        #expect(plan.subnetMin.description == min)
        #expect(plan.subnetMax.description == max)
    }

    @Test func explicitRangeIsHonoured() throws {
        let plan = try #require(try NetworkConfig.decode(
            #"{"Network":"10.1.0.0/16","SubnetLen":24,"SubnetMin":"10.1.10.0","SubnetMax":"10.1.20.0"}"#).ipv4)
        #expect(plan.subnetMin == IPv4Address(10, 1, 10, 0))
        #expect(plan.subnetMax == IPv4Address(10, 1, 20, 0))
        #expect(plan.capacity == 11)
        #expect(plan.fits(IPv4Network("10.1.10.0/24")!))
        #expect(!plan.fits(IPv4Network("10.1.9.0/24")!))
        #expect(!plan.fits(IPv4Network("10.1.21.0/24")!))
        #expect(!plan.fits(IPv4Network("10.1.10.0/25")!))
        #expect(!plan.fits(IPv4Network("10.2.10.0/24")!))
    }

    /// Every rule, with the field it names and the fix it suggests.
    @Test(arguments: [
        (#"not json"#, "config", "invalid JSON at byte 0"),
        (#"[1]"#, "config", "must be a JSON object"),
        (#"{}"#, "Network", "is missing; set it to the overlay's CIDR"),
        (#"{"Network":""}"#, "Network", "expected an IPv4 network in CIDR form"),
        (#"{"Network":16}"#, "Network", "must be a CIDR string like \"10.1.0.0/16\", not a number"),
        (#"{"Network":"10.1.0.0"}"#, "Network", "CIDR form"),
        (#"{"Network":"0.0.0.0/0"}"#, "Network", "is the whole address space"),
        (#"{"Network":"10.1.0.0/29"}"#, "Network", "is too small: the network prefix must be /28 or shorter"),
        (#"{"Network":"10.1.0.0/16","SubnetLen":31}"#, "SubnetLen", "31 is out of range; use a value from 18 to 30"),
        (#"{"Network":"10.1.0.0/16","SubnetLen":17}"#, "SubnetLen", "leaves room for fewer than four subnets in 10.1.0.0/16; use /18 or longer"),
        (#"{"Network":"10.1.0.0/16","SubnetLen":-4}"#, "SubnetLen", "out of range"),
        (#"{"Network":"10.1.0.0/16","SubnetLen":"24"}"#, "SubnetLen", "must be a whole number like 24, not a string"),
        (#"{"Network":"10.1.0.0/16","SubnetLen":24.5}"#, "SubnetLen", "must be a whole number like 24, not 24.5"),
        (#"{"Network":"10.1.0.0/16","SubnetMin":"10.2.0.0"}"#, "SubnetMin", "10.2.0.0 is outside Network 10.1.0.0/16"),
        (#"{"Network":"10.1.0.0/16","SubnetMin":"10.1.0.5"}"#, "SubnetMin", "is not on a /24 boundary; use 10.1.0.0"),
        (#"{"Network":"10.1.0.0/16","SubnetMax":"10.1.300.0"}"#, "SubnetMax", "\"300\" is not a number from 0 to 255"),
        (#"{"Network":"10.1.0.0/16","SubnetMax":"10.3.0.0"}"#, "SubnetMax", "outside Network"),
        (#"{"Network":"10.1.0.0/16","SubnetMax":7}"#, "SubnetMax", "must be an address string"),
        (#"{"Network":"10.1.0.0/16","SubnetMin":"10.1.20.0","SubnetMax":"10.1.10.0"}"#, "SubnetMin", "10.1.20.0 is above SubnetMax 10.1.10.0"),
        (#"{"Network":"10.1.0.0/16","EnableIPv4":"yes"}"#, "EnableIPv4", "must be true or false"),
        (#"{"Network":"10.1.0.0/16","EnableIPv4":false}"#, "EnableIPv4", "enable at least one"),
        (#"{"Network":"10.1.0.0/16","EnableNFTables":"true"}"#, "EnableNFTables", "must be true or false, not a string"),
        (#"{"Network":"10.1.0.0/16","EnableNFTables":1}"#, "EnableNFTables", "must be true or false, not a number"),
        (#"{"Network":"10.1.0.0/16","EnableIPv6":true}"#, "IPv6Network", "is missing"),
        (#"{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fd00::/125"}"#, "IPv6Network", "/124 or shorter"),
        (#"{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fd00::/48","IPv6SubnetLen":127}"#, "IPv6SubnetLen", "use a value from 50 to 126"),
        // Upstream 0.20.2's IPv6 rules, in its order (COMPAT.md): four subnets at least, Min and
        // Max inside IPv6Network and on an IPv6SubnetLen boundary; and Min ≤ Max, which upstream lacks.
        (#"{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fd00::/48","IPv6SubnetLen":49}"#, "IPv6SubnetLen", "fewer than four subnets in fd00::/48; use /50 or longer"),
        (#"{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fd00::/48","IPv6SubnetMin":"fd01::"}"#, "IPv6SubnetMin", "fd01:: is outside Network fd00::/48"),
        (#"{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fd00::/48","IPv6SubnetMax":"fd00:0:0:5::1"}"#, "IPv6SubnetMax", "is not on a /64 boundary; use fd00:0:0:5::"),
        (#"{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"fd00::/48","IPv6SubnetMin":"fd00:0:0:9::","IPv6SubnetMax":"fd00:0:0:5::"}"#, "IPv6SubnetMin", "is above IPv6SubnetMax"),
        (#"{"Network":"10.1.0.0/16","EnableIPv6":true,"IPv6Network":"10.2.0.0/16"}"#, "IPv6Network", "not valid"),
        (#"{"Network":"10.1.0.0/16","EnableIPv6":"true","IPv6Network":"fd00::/48"}"#, "EnableIPv6", "must be true or false"),
        (#"{"Network":"10.1.0.0/16","Backend":"vxlan"}"#, "Backend", "must be an object"),
        (#"{"Network":"10.1.0.0/16","Backend":{}}"#, "Backend.Type", "is missing; set it to one of udp, vxlan, host-gw, wireguard"),
        (#"{"Network":"10.1.0.0/16","Backend":{"Type":3}}"#, "Backend.Type", "must be a string"),
        (#"{"Network":"10.1.0.0/16","Backend":{"Type":""}}"#, "Backend.Type", "is empty"),
        (#"{"Network":"10.1.0.0/16","Backend":{"Type":"carrier-pigeon"}}"#, "Backend.Type", "\"carrier-pigeon\" is not a known backend; use one of udp, vxlan, host-gw, wireguard"),
        (#"{"Network":"10.1.0.0/16","Backend":{"Type":"ipip"}}"#, "Backend.Type", "upstream flannel backend that this agent does not implement"),
        (#"{"Network":"10.1.0.0/16","Backend":{"Type":"udp","Port":70000}}"#, "Backend.Port", "70000 is out of range; use a UDP port from 1 to 65535"),
        (#"{"Network":"10.1.0.0/16","Backend":{"Type":"udp","Port":"8285"}}"#, "Backend.Port", "must be a UDP port"),
        (#"{"Network":"10.1.0.0/16","Backend":{"Type":"vxlan","VNI":16777216}}"#, "Backend.VNI", "out of range"),
        (#"{"Network":"10.1.0.0/16","Backend":{"Type":"vxlan","DirectRouting":"yes"}}"#, "Backend.DirectRouting", "must be true or false"),
        (#"{"Network":"10.1.0.0/16","Backend":{"Type":"vxlan","MTU":40}}"#, "Backend.MTU", "below IPv4's minimum of 68"),
    ])
    func rejectsWithFieldAndFix(json: String, field: String, message: String) {
        #expect {
            try NetworkConfig.decode(json)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.field == field && error.message.contains(message)
        }
    }

    @Test func backendsDecodeWithDefaults() throws {
        func backend(_ json: String) throws -> BackendConfig {
            try NetworkConfig.decode(#"{"Network":"10.1.0.0/16","Backend":\#(json)}"#).backend
        }
        #expect(try backend(#"{"Type":"udp"}"#) == BackendConfig(UDPBackend(port: 8285)))
        #expect(try backend(#"{"Type":"udp","Port":9000}"#) == BackendConfig(UDPBackend(port: 9000)))
        #expect(try backend(#"{"Type":"vxlan"}"#) == BackendConfig(VXLANBackend()))
        #expect(try backend(#"{"Type":"vxlan","VNI":7,"Port":0,"DirectRouting":true,"MTU":1400}"#)
            == BackendConfig(VXLANBackend(vni: 7, port: 8472, directRouting: true, mtu: 1400)))
        #expect(try backend(#"{"Type":"host-gw"}"#) == BackendConfig(HostGWBackend()))
        #expect(try backend(#"{"Type":"Host-GW"}"#) == BackendConfig(HostGWBackend()))
        #expect(try backend("null") == BackendConfig(UDPBackend(port: 8285)))
    }

    @Test func enableNFTablesChoosesNFTablesAndDefaultsToIPTables() throws {
        func enableNFTables(_ member: String) throws -> Bool {
            try NetworkConfig.decode(#"{"Network":"10.1.0.0/16"\#(member)}"#).enableNFTables
        }
        #expect(try enableNFTables(#","EnableNFTables":true"#))
        #expect(try !enableNFTables(#","EnableNFTables":false"#))
        #expect(try !enableNFTables(""), "absent: iptables, as upstream")
        #expect(try !enableNFTables(#","EnableNFTables":null"#))
        #expect(try enableNFTables(#","enablenftables":true"#), "field names match case-insensitively")
    }

    @Test func dualStackConfigDecodes() throws {
        let config = try NetworkConfig.decode(#"{"Network":"10.12.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:12::/48","IPv6SubnetLen":56}"#)
        let plan = try #require(config.ipv6)
        #expect(plan.subnetLength == 56)
        #expect(plan.subnetMin.description == "fd00:12:0:100::")
        #expect(plan.subnetMax.description == "fd00:12:0:ff00::")
        let defaulted = try #require(try NetworkConfig.decode(#"{"Network":"10.12.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:12::/48"}"#).ipv6)
        #expect(defaulted.subnetLength == 64)
        // Upstream's defaults: /64 up to a /62 network, else two bits more; Min the second
        // subnet, Max the last (its config_test.go: fc00::/48 → fc00:0:0:1:: … fc00:0:0:ffff::).
        let upstreams = try #require(try NetworkConfig.decode(#"{"Network":"10.12.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/48"}"#).ipv6)
        #expect("\(upstreams.subnetMin) \(upstreams.subnetMax) /\(upstreams.subnetLength)" == "fc00:0:0:1:: fc00:0:0:ffff:: /64")
        #expect(try NetworkConfig.decode(#"{"Network":"10.12.0.0/16","EnableIPv6":true,"IPv6Network":"fd00::/63"}"#).ipv6?.subnetLength == 65)
        #expect(try NetworkConfig.decode(#"{"Network":"10.12.0.0/16","enableipv6":true,"ipv6network":"fd00::/62"}"#).ipv6?.subnetLength == 64,
                "field names match case-insensitively, as Go's encoding/json")
    }

    @Test func errorDescriptionNamesConfigAndField() {
        let error = ConfigError(field: "SubnetLen", "31 is out of range")
        #expect(error.description == "network config: SubnetLen: 31 is out of range")
    }
}
