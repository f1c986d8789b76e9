import Agent
import Testing

@Suite("Subnet keys, lease values and subnet.env")
struct LeaseFormatTests {
    // MARK: Keys

    @Test(arguments: ["10.1.82.0-24", "10.1.33.0-24", "10.1.71.0-24", "10.12.13.0-24&fd00:12:13::-56", "10.0.0.0-30", "0.0.0.0-0&fd00:12:13::-56"])
    func keysRoundTrip(text: String) throws {
        #expect(try SubnetKey(parsing: text).description == text)
    }

    @Test func dualStackKeyCarriesBothNetworks() throws {
        let key = try SubnetKey(parsing: "10.12.13.0-24&fd00:12:13::-56")
        #expect(key.ipv4 == IPv4Network("10.12.13.0/24"))
        #expect(key.ipv6 == IPv6Network("fd00:12:13::/56"))
    }

    @Test("an IPv6-only network's key is upstream's: the zero IPv4 network, then the IPv6 subnet")
    func ipv6OnlyKeyHasNoIPv4Half() throws {
        let key = try SubnetKey(parsing: "0.0.0.0-0&fd00:12:13::-56")
        #expect(key.ipv4 == nil)
        #expect(key.ipv6 == IPv6Network("fd00:12:13::/56"))
        #expect(key == SubnetKey(ipv6Only: IPv6Network("fd00:12:13::/56")!))
        #expect(key.subnets == "fd00:12:13::/56")
        // IPv4 keys sort first, then IPv6-only ones by subnet.
        let keys = [key, try SubnetKey(parsing: "0.0.0.0-0&fd00:12:12::-56"), try SubnetKey(parsing: "10.1.2.0-24")]
        #expect(keys.sorted().map(\.description) == ["10.1.2.0-24", "0.0.0.0-0&fd00:12:12::-56", "0.0.0.0-0&fd00:12:13::-56"])
    }

    @Test(arguments: [
        ("10.1.82.0", "has no \"-<prefix length>\""),
        ("10.1.82.0-33", "prefix length"),
        ("10.1.82.1-24", "host bits are set"),
        ("10.1.82-24", "four dot-separated"),
        ("garbage", "has no"),
        ("10.1.82.0-24&fd00::-200", "prefix length"),
        ("10.1.82.0-24&a&b", "expected 10.1.82.0-24"),
        // Found by fuzzing: a second spelling of a subnet would alias its lease.
        ("10.1.82.0-024", "not written as flannel writes it (10.1.82.0-24)"),
        ("0.2.3.0-24&D::-56", "not written as flannel writes it (0.2.3.0-24&d::-56)"),
        // The zero network means "no IPv4 half": alone it would be a lease for every address.
        ("0.0.0.0-0", "0.0.0.0/0 is no subnet"),
    ])
    func badKeysAreReportedNotFatal(text: String, reason: String) {
        #expect {
            try SubnetKey(parsing: text)
        } throws: { error in
            let description = "\(error)"
            return description.contains(reason) && description.contains(text) && description.contains("skipping")
        }
    }

    // MARK: Values

    @Test func udpValueEncodesLikeUpstream() {
        let value = LeaseAttributes(publicIP: IPv4Address(10, 12, 10, 200))
        #expect(value.encoded == #"{"PublicIP":"10.12.10.200","PublicIPv6":null}"#)
    }

    @Test func vxlanValueEncodesLikeUpstream() {
        let value = LeaseAttributes(
            publicIP: IPv4Address(192, 168, 64, 3), backendType: "vxlan",
            backendData: .object([("VNI", .integer(1)), ("VtepMAC", .string("c6:d2:32:6f:8f:44"))]))
        #expect(value.encoded == #"{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}"#)
    }

    @Test func upstreamValuesDecode() throws {
        let vxlan = try LeaseAttributes.decode(#"{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}"#)
        #expect(vxlan.publicIP == IPv4Address(192, 168, 64, 3))
        #expect(vxlan.backendType == "vxlan")
        #expect(vxlan.backendData?.member("VtepMAC") == .string("c6:d2:32:6f:8f:44"))

        let dual = try LeaseAttributes.decode(#"{"PublicIP":"10.0.0.1","PublicIPv6":"fd00::1","BackendType":"host-gw","Extra":42}"#)
        #expect(dual.publicIPv6 == IPv6Address("fd00::1"))
        #expect(dual.effectiveBackendType == "host-gw")
    }

    /// The walkthrough's `etcdctl get /flannel-test/network/subnets/10.1.82.0-24`.
    @Test func walkthroughV2ValueDecodes() throws {
        let value = try LeaseAttributes.decode(#"{"PublicIP":"10.12.10.193"}"#)
        #expect(value.publicIP == IPv4Address(10, 12, 10, 193))
        #expect(value.publicIPv6 == nil)
        #expect(value.effectiveBackendType == "udp")
        #expect(value.encoded == #"{"PublicIP":"10.12.10.193","PublicIPv6":null}"#)
    }

    @Test(arguments: [
        ("", "invalid JSON"),
        ("[]", "expected a JSON object"),
        ("{}", "PublicIP is missing"),
        (#"{"PublicIP":"10.1.2"}"#, "is not an IPv4 address"),
        (#"{"PublicIP":5}"#, "is not an IPv4 address"),
        (#"{"PublicIP":"10.1.2.3","PublicIPv6":"nope"}"#, "not an IPv6 address"),
        (#"{"PublicIP":"10.1.2.3","BackendType":1}"#, "BackendType must be a string"),
    ])
    func badValuesAreReported(text: String, reason: String) {
        #expect {
            try LeaseAttributes.decode(text)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    // MARK: subnet.env

    @Test func subnetFileRendersInUpstreamOrder() {
        let file = SubnetFile(network: IPv4Network("10.1.0.0/16")!, subnet: IPv4Network("10.1.82.0/24")!, mtu: 1472, ipMasq: false)
        #expect(file.rendered == """
            FLANNEL_NETWORK=10.1.0.0/16
            FLANNEL_SUBNET=10.1.82.1/24
            FLANNEL_MTU=1472
            FLANNEL_IPMASQ=false

            """)
    }

    @Test func dualStackSubnetFile() throws {
        let file = SubnetFile(network: IPv4Network("10.12.0.0/16")!, subnet: IPv4Network("10.12.13.0/24")!,
                              ipv6Network: IPv6Network("fd00:12::/48"), ipv6Subnet: IPv6Network("fd00:12:13::/56"),
                              mtu: 1450, ipMasq: true)
        #expect(file.rendered == """
            FLANNEL_NETWORK=10.12.0.0/16
            FLANNEL_SUBNET=10.12.13.1/24
            FLANNEL_IPV6_NETWORK=fd00:12::/48
            FLANNEL_IPV6_SUBNET=fd00:12:13::1/56
            FLANNEL_MTU=1450
            FLANNEL_IPMASQ=true

            """)
        #expect(try SubnetFile.parse(file.rendered) == file)
    }

    @Test func subnetFileParsesBackWithTheSubnetMasked() throws {
        let parsed = try SubnetFile.parse("FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.82.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=false\n")
        #expect(parsed.subnet == IPv4Network("10.1.82.0/24"))
        #expect(parsed.mtu == 1472)
        #expect(!parsed.ipMasq)
    }

    @Test func handEditedSubnetFileIsTolerated() throws {
        let parsed = try SubnetFile.parse("# written by hand\n\nFLANNEL_NETWORK=\"10.1.0.0/16\"\n FLANNEL_SUBNET = 10.1.82.1/24\nFLANNEL_MTU=1472\nOTHER=1\n")
        #expect(parsed.subnet == IPv4Network("10.1.82.0/24"))
        #expect(!parsed.ipMasq)
    }

    /// Found by fuzzing: a /32 rendered a "first host" outside it and read back as another subnet.
    @Test func aSubnetWithNoRoomForTheBridgeIsRefusedAndCRLFFilesRead() throws {
        #expect { try SubnetFile.parse("FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.82.5/32\nFLANNEL_MTU=1472\n") } throws: {
            "\($0)".contains("leaves no address for the bridge")
        }
        let crlf = "FLANNEL_NETWORK=10.1.0.0/16\r\nFLANNEL_SUBNET=10.1.82.1/24\r\nFLANNEL_MTU=1472\r\n"
        #expect(try SubnetFile.parse(crlf).subnet == IPv4Network("10.1.82.0/24"))
        #expect(SubnetFile.previousSubnet(in: crlf) == IPv4Network("10.1.82.0/24"))
    }

    @Test func previousSubnetNeedsOnlyTheSubnetLine() {
        #expect(SubnetFile.previousSubnet(in: "FLANNEL_SUBNET=10.1.82.1/24\n") == IPv4Network("10.1.82.0/24"))
        #expect(SubnetFile.previousSubnet(in: "# old\nFLANNEL_SUBNET=\"10.1.33.1/24\"\nFLANNEL_MTU=x\n") == IPv4Network("10.1.33.0/24"))
        #expect(SubnetFile.previousSubnet(in: "FLANNEL_SUBNETX=10.1.82.1/24\n") == nil)
        #expect(SubnetFile.previousSubnet(in: "FLANNEL_SUBNET=junk\n") == nil)
        #expect(SubnetFile.previousSubnet(in: "") == nil)
    }

    @Test(arguments: [
        ("FLANNEL_SUBNET=10.1.82.1/24\nFLANNEL_MTU=1472\n", "FLANNEL_NETWORK is missing"),
        ("FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_MTU=1472\n", "FLANNEL_SUBNET is missing"),
        ("FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.82.1/24\n", "FLANNEL_MTU is missing"),
        ("FLANNEL_MTU=1472\n", "FLANNEL_NETWORK and FLANNEL_SUBNET are missing (an IPv6-only file has FLANNEL_IPV6_NETWORK and FLANNEL_IPV6_SUBNET instead)"),
        ("FLANNEL_IPV6_SUBNET=fd00:10:1:5::1/64\nFLANNEL_MTU=1430\n", "FLANNEL_IPV6_NETWORK is missing"),
        ("FLANNEL_IPV6_NETWORK=fd00:10:1::/48\nFLANNEL_MTU=1430\n", "FLANNEL_IPV6_SUBNET is missing"),
        ("FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.82.1\nFLANNEL_MTU=1472\n", "line 2: FLANNEL_SUBNET"),
        ("FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.82.1/24\nFLANNEL_MTU=big\n", "line 3: FLANNEL_MTU \"big\""),
        ("FLANNEL_NETWORK=10.1.0.0/16\ngarbage\n", "line 2: expected KEY=value"),
        ("FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.82.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=maybe\n", "FLANNEL_IPMASQ \"maybe\""),
    ])
    func badSubnetFilesSayWhere(text: String, reason: String) {
        #expect {
            try SubnetFile.parse(text)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }
}
