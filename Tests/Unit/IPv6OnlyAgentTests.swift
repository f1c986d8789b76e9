import AgentCore
import Testing

/// The agent on an IPv6-only network (`EnableIPv4: false`): upstream's key form, no IPv4
/// device or backend data, a subnet file with the IPv6 pair only, hosts told apart by
/// PublicIPv6 when they have no IPv4 address, and peers routed over IPv6 alone.
@Suite("IPv6-only agent")
struct IPv6OnlyAgentTests {
    typealias Action = AgentMachine.Action
    typealias Drive = DualStackAgentTests.Drive
    static let network = IPv6Network("fd00:10:1::/48")!
    static let v6 = IPv6Address("2001:db8::1")!
    /// A host with no IPv4 address: upstream writes PublicIP 0.0.0.0 for it.
    static let hostWithoutIPv4 = BackendHost(publicIP: .any, externalName: "eth0", externalAddress: .any, externalMTU: 1500,
                                             publicIPv6: v6, externalIPv6Address: v6)

    static func config(_ backend: String) -> String {
        #"{ "EnableIPv4": false, "EnableIPv6": true, "IPv6Network": "fd00:10:1::/48", "Backend": { "Type": "\#(backend)" } }"#
    }

    static func first<T>(_ actions: [Action], _ pick: (Action) -> T?) -> T? { actions.lazy.compactMap(pick).first }

    @Test("vxlan: only flannel-v6.<VNI>, a key 0.0.0.0-0&<subnet>, BackendV6Data alone, subnet.env with the IPv6 pair and its MTU")
    func vxlanRunsWithTheIPv6DeviceAlone() throws {
        var drive = Drive(host: Self.hostWithoutIPv4)
        let prepared = drive.read(Self.config("vxlan"))
        #expect(prepared.contains { action in
            if case .prepareBackend(_, nil, .vxlanIPv6(1, 8472, 1430)?, nil, _?) = action { true } else { false }
        }, "no flannel.1, no IPv4 plan: \(prepared)")
        drive.send(.backendPrepared(device: nil, ipv6Device: .mac(MACAddress("0a:00:00:00:00:02")!)))
        let create = drive.send(.leasesListed(LeaseListing(records: [], revision: 3)))
        let (key, attributes) = try #require(Self.first(create) { if case let .lease(.create(key, attributes, _)) = $0 { (key, attributes) } else { nil } })
        #expect(key.ipv4 == nil)
        let subnet = try #require(key.ipv6)
        #expect(subnet.prefixLength == 64 && Self.network.contains(subnet))
        #expect(key.description == "0.0.0.0-0&\(subnet.address)-64")
        #expect(attributes.encoded == #"{"PublicIP":"0.0.0.0","PublicIPv6":"2001:db8::1","BackendType":"vxlan","BackendV6Data":{"VNI":1,"VtepMAC":"0a:00:00:00:00:02"}}"#)
        let started = drive.send(.leaseCreated(modRevision: 4))
        #expect(started.contains(.startDataPath(OwnSubnets(network: nil, subnet: nil, ipv6Network: Self.network, ipv6Subnet: subnet))))
        let written = drive.send(.dataPathStarted)
        let file = try #require(Self.first(written) { if case let .writeSubnetFile(file) = $0 { file } else { nil } })
        // Every packet crosses flannel-v6.1: its MTU (1500 − 70) is the containers'.
        #expect(file.rendered == "FLANNEL_IPV6_NETWORK=fd00:10:1::/48\nFLANNEL_IPV6_SUBNET=\(subnet.firstHost)/64\nFLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\n")
        #expect(try SubnetFile.parse(file.rendered) == file)
    }

    @Test func hostGWWritesNoBackendData() throws {
        var drive = Drive(host: Self.hostWithoutIPv4)
        #expect(drive.read(Self.config("host-gw")).contains { if case .prepareBackend(_, nil, nil, nil, _?) = $0 { true } else { false } })
        drive.send(.backendPrepared(device: nil))
        let create = drive.send(.leasesListed(LeaseListing(records: [], revision: 3)))
        let attributes = try #require(Self.first(create) { if case let .lease(.create(_, attributes, _)) = $0 { attributes } else { nil } })
        #expect(attributes.encoded == #"{"PublicIP":"0.0.0.0","PublicIPv6":"2001:db8::1","BackendType":"host-gw"}"#)
    }

    @Test("udp, or a host without IPv6, is refused with what to do (not \"set EnableIPv6 to false\")")
    func refusalsSayWhatToDoInstead() {
        var udp = Drive(host: Self.hostWithoutIPv4)
        let udpMessage = DualStackAgentTests.exitMessage(udp.read(Self.config("udp")))
        #expect(udpMessage?.contains("EnableIPv4 is false (an IPv6-only network), but the udp backend carries IPv4 only") == true, "\(udpMessage ?? "no exit")")
        #expect(udpMessage?.contains("set EnableIPv4 to true with a Network") == true)
        let me = IPv4Address(192, 0, 2, 1)
        var noIPv6 = Drive(host: BackendHost(publicIP: me, externalName: "eth0", externalAddress: me, externalMTU: 1500))
        let message = DualStackAgentTests.exitMessage(noIPv6.read(Self.config("vxlan")))
        #expect(message?.contains("eth0 has no global IPv6 address and --public-ipv6 is not given") == true)
        #expect(message?.contains("set EnableIPv6 to false") == false)
    }

    @Test("hosts without IPv4 all write PublicIP 0.0.0.0: our lease is the one with our PublicIPv6, never another's")
    func ownLeaseIsFoundByPublicIPv6() throws {
        let mine = try SubnetKey(parsing: "0.0.0.0-0&fd00:10:1:7::-64")
        let theirs = try SubnetKey(parsing: "0.0.0.0-0&fd00:10:1:3::-64")
        let other = LeaseRecord(key: theirs, attributes: LeaseAttributes(publicIP: .any, publicIPv6: IPv6Address("2001:db8::2"), backendType: "host-gw"),
                                isReservation: false, modRevision: 5)
        let previous = LeaseRecord(key: mine, attributes: LeaseAttributes(publicIP: .any, publicIPv6: Self.v6, backendType: "host-gw"),
                                   isReservation: false, modRevision: 6)
        var drive = Drive(host: Self.hostWithoutIPv4)
        _ = drive.read(Self.config("host-gw"))
        drive.send(.backendPrepared(device: nil))
        let reuse = drive.send(.leasesListed(LeaseListing(records: [other, previous], revision: 7)))
        #expect(reuse.contains { if case let .lease(.update(key, _, _, 6)) = $0 { key == mine } else { false } }, "\(reuse)")
        drive.send(.leaseUpdated(.updated(modRevision: 8)))
        drive.send(.dataPathStarted)
        drive.send(.trafficRulesKept(restored: 0, summary: ""))
        // The other host's lease is a peer, not ours overwritten.
        drive.send(.peersListed(LeaseListing(records: [other, previous], revision: 8)))
        #expect(drive.machine.table?.peers.map(\.key) == [theirs])
        #expect(drive.machine.held?.key == mine)
    }

    @Test("a subnet file of a previous run names the IPv6 subnet asked for first")
    func previousIPv6SubnetIsAskedForFirst() throws {
        var machine = LeaseMachine(configuration: .init(
            plan: nil, ipv6Plan: try NetworkConfig.decode(Self.config("host-gw")).ipv6,
            attributes: LeaseAttributes(publicIP: .any, publicIPv6: Self.v6), previousIPv6Subnet: IPv6Network("fd00:10:1:42::/64")))
        var generator = AgentMachineTests.SplitMix(seed: 1)
        _ = machine.start()
        let actions = machine.leasesListed(LeaseListing(records: [], revision: 2), now: .zero, using: &generator)
        #expect(actions.first == .createLease(SubnetKey(ipv6Only: IPv6Network("fd00:10:1:42::/64")!), machine.configuration.attributes,
                                              ttl: machine.configuration.ttl))
    }

    @Test("the screen: IPv6 halves are used, IPv4 halves are not looked at, IPv4-only keys are skipped with the reason")
    func screenUsesIPv6HalvesOnly() throws {
        let plan = try #require(NetworkConfig.decode(Self.config("vxlan")).ipv6)
        let screen = LeaseScreen(ipv4: nil, ipv6: plan, layout: EtcdKeyLayout())
        #expect(screen.problem(try SubnetKey(parsing: "0.0.0.0-0&fd00:10:1:5::-64")) == nil)
        #expect(screen.problem(try SubnetKey(parsing: "10.1.0.0-16&fd00:10:1:5::-64")) == nil, "a dual-stack peer's IPv4 half is never routed here")
        #expect(screen.problem(try SubnetKey(parsing: "0.0.0.0-0&fd00:10:1:5::-80"))?.kind == .wrongLength)
        let ipv4Only = try #require(screen.problem(try SubnetKey(parsing: "10.1.5.0-24")))
        #expect(ipv4Only.reason == "it has no IPv6 subnet; the network is IPv6-only; ignored")
    }

    @Test("the IPv6 half of a dual-stack peer is programmed; nothing IPv4 is")
    func plannerProgramsIPv6Only() throws {
        let plan = try #require(NetworkConfig.decode(Self.config("host-gw")).ipv6)
        let external = KernelDevice(index: 2, name: "eth0")
        let planner = AgentCore.KernelBackendPlanner<IPv6Address>(
            backend: BackendConfig(HostGWBackend()), context: AgentCore.KernelPeerContext(external: external, externalNetwork: IPv6Network("2001:db8::/64"), device: nil),
            network: plan.network, subnetLength: plan.subnetLength, ownSubnet: IPv6Network("fd00:10:1:7::/64"))
        let peer = Peer(key: try SubnetKey(parsing: "10.1.5.0-24&fd00:10:1:5::-64"),
                        attributes: LeaseAttributes(publicIP: IPv4Address(192, 0, 2, 2), publicIPv6: IPv6Address("2001:db8::2"), backendType: "host-gw"))
        #expect(planner.programs(for: [peer]).map(\.route.description) == ["fd00:10:1:5::/64 via 2001:db8::2 dev eth0"])
    }
}

extension IPv6OnlyAgentTests {
    @Test("an IPv4 network on an interface without IPv4 is refused with what to do")
    func ipv4NetworkNeedsAnIPv4Address() {
        var drive = Drive(host: Self.hostWithoutIPv4)
        let message = DualStackAgentTests.exitMessage(drive.read(DualStackAgentTests.config("vxlan")))
        #expect(message == "network config: Network 10.1.0.0/16 is IPv4, but eth0 has no IPv4 address; give eth0 one, choose another interface with --iface, or run an IPv6-only network (EnableIPv4 false with an IPv6Network)")
    }
}

extension IPv6OnlyAgentTests {
    /// Two hosts behind one NAT address (10.0.2.15, as VirtualBox gives every VM), each with its own IPv6 address.
    static let natHost = BackendHost(publicIP: IPv4Address(10, 0, 2, 15), externalName: "eth0", externalAddress: IPv4Address(10, 0, 2, 15),
                                     externalMTU: 1500, publicIPv6: v6, externalIPv6Address: v6)

    @Test("on an IPv6-only network PublicIP is 0.0.0.0 even where the host has IPv4: hosts sharing a NAT address keep their own leases")
    func hostsBehindOneNATAddressAreToldApart() throws {
        var drive = Drive(host: Self.natHost)
        _ = drive.read(Self.config("host-gw"))
        drive.send(.backendPrepared(device: nil))
        let othersKey = try SubnetKey(parsing: "0.0.0.0-0&fd00:10:1:3::-64")
        let other = LeaseRecord(key: othersKey, attributes: LeaseAttributes(publicIP: .any, publicIPv6: IPv6Address("2001:db8::2"), backendType: "host-gw"),
                                isReservation: false, modRevision: 5)
        let create = drive.send(.leasesListed(LeaseListing(records: [other], revision: 6)))
        let (key, attributes) = try #require(Self.first(create) { if case let .lease(.create(key, attributes, _)) = $0 { (key, attributes) } else { nil } })
        #expect(key != othersKey, "the other host's lease is not ours")
        #expect(attributes.publicIP == .any && attributes.publicIPv6 == Self.v6)
        // Whichever side asks, the other host's value is not ours.
        #expect(!attributes.isSameHost(as: other.attributes) && !other.attributes.isSameHost(as: attributes))
        #expect(other.attributes.holder == "2001:db8::2")
    }

    @Test("--public-ip 0.0.0.0 on an IPv4 network is refused: it would name every IPv6-only host")
    func zeroPublicIPIsRefusedOnIPv4Networks() {
        let me = IPv4Address(192, 0, 2, 1)
        var drive = Drive(host: BackendHost(publicIP: .any, externalName: "eth0", externalAddress: me, externalMTU: 1500))
        let message = DualStackAgentTests.exitMessage(drive.read(#"{ "Network": "10.1.0.0/16" }"#))
        #expect(message?.hasPrefix("--public-ip 0.0.0.0: an IPv4 network (10.1.0.0/16) needs an address peers can reach") == true, "\(message ?? "no exit")")
    }

    @Test("keys are totally ordered: sharing an IPv4 subnet, by the IPv6 half (none first); 0.0.0.0/0 with IPv6 is the IPv6-only key")
    func keyOrderIsTotal() throws {
        let plain = try SubnetKey(parsing: "10.1.5.0-24")
        let low = try SubnetKey(parsing: "10.1.5.0-24&fd00:10:1:3::-64")
        let high = try SubnetKey(parsing: "10.1.5.0-24&fd00:10:1:5::-64")
        #expect(plain < low && low < high && !(high < low) && !(low < low))
        #expect(SubnetKey(IPv4Network("0.0.0.0/0")!, ipv6: IPv6Network("fd00::/64")) == SubnetKey(ipv6Only: IPv6Network("fd00::/64")!))
    }
}
