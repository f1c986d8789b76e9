import AgentCore
import Testing

/// The agent on a dual-stack network: which backends and hosts can carry IPv6, the devices it
/// asks for, what its lease says, and the subnet file it writes.
@Suite("Dual-stack agent")
struct DualStackAgentTests {
    typealias Action = AgentMachine.Action
    static let me = IPv4Address(192, 0, 2, 1)
    static let host = BackendHost(publicIP: me, externalName: "eth0", externalAddress: me, externalMTU: 1500,
                                  publicIPv6: IPv6Address("2001:db8::1"), externalIPv6Address: IPv6Address("2001:db8::1"))

    static func config(_ backend: String) -> String {
        #"{ "Network": "10.1.0.0/16", "EnableIPv6": true, "IPv6Network": "fd00:1::/56", "Backend": { "Type": "\#(backend)" } }"#
    }

    struct Drive {
        var machine: AgentMachine
        var random = AgentMachineTests.SplitMix(seed: 7)
        var actions: [Action] = []

        init(host: BackendHost = DualStackAgentTests.host) {
            machine = AgentMachine(configuration: .init(
                etcdAPI: .v3, layout: EtcdKeyLayout(prefix: "/coreos.com/network"), host: host,
                leaseTTL: .seconds(86400), leaseTTLText: "24h", renewMargin: .seconds(3600), previousSubnet: nil,
                ipMasq: false, forwardRules: false))
        }

        @discardableResult
        mutating func send(_ event: AgentMachine.Event) -> [Action] {
            let answer = machine.handle(event, now: .zero, random: &random)
            actions += answer
            return answer
        }

        mutating func read(_ config: String) -> [Action] {
            send(.start)
            return send(.configRead(.v3, .success(config)))
        }
    }

    static func exitMessage(_ actions: [Action]) -> String? {
        actions.lazy.compactMap { if case let .exit(.failed(message)) = $0 { message } else { nil } }.first
    }

    @Test func udpRefusesIPv6SayingWhichBackendsCarryIt() {
        var drive = Drive()
        let message = Self.exitMessage(drive.read(Self.config("udp")))
        #expect(message?.contains("the udp backend carries IPv4 only") == true)
        #expect(message?.contains("use the vxlan or host-gw backend") == true)
    }

    @Test func aHostWithoutAnIPv6AddressIsToldHowToGiveItOne() {
        var drive = Drive(host: BackendHost(publicIP: Self.me, externalName: "eth0", externalAddress: Self.me, externalMTU: 1500))
        let message = Self.exitMessage(drive.read(Self.config("vxlan")))
        #expect(message?.contains("eth0 has no global IPv6 address and --public-ipv6 is not given") == true)
    }

    @Test func vxlanAsksForBothDevicesAndItsLeaseCarriesBothMACs() throws {
        var drive = Drive()
        let prepared = drive.read(Self.config("vxlan"))
        #expect(prepared.contains { action in
            if case .prepareBackend(_, .vxlan(1, 8472, 1450)?, .vxlanIPv6(1, 8472, 1430)?, _, _) = action { true } else { false }
        })
        #expect(BackendDevice.vxlanIPv6(vni: 1, port: 8472, mtu: 1430).name == "flannel-v6.1")
        let listing = drive.send(.backendPrepared(device: .mac(MACAddress("0a:00:00:00:00:01")!), ipv6Device: .mac(MACAddress("0a:00:00:00:00:02")!)))
        #expect(listing.contains(.lease(.list)))
        let create = drive.send(.leasesListed(LeaseListing(records: [], revision: 3)))
        guard case let .lease(.create(key, attributes, _))? = create.first(where: { if case .lease = $0 { true } else { false } }) else {
            Issue.record("expected a create, got \(create)")
            return
        }
        #expect(key.ipv6 != nil)
        #expect(attributes.encoded == #"{"PublicIP":"192.0.2.1","PublicIPv6":"2001:db8::1","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0a:00:00:00:00:01"},"BackendV6Data":{"VNI":1,"VtepMAC":"0a:00:00:00:00:02"}}"#)
        let started = drive.send(.leaseCreated(modRevision: 4))
        #expect(started.contains(.startDataPath(OwnSubnets(network: IPv4Network("10.1.0.0/16")!, subnet: key.ipv4,
                                                            ipv6Network: IPv6Network("fd00:1::/56")!, ipv6Subnet: key.ipv6))))
        let rules = drive.send(.dataPathStarted)
        guard case let .writeSubnetFile(file)? = rules.first(where: { if case .writeSubnetFile = $0 { true } else { false } }) else {
            Issue.record("expected the subnet file, got \(rules)")
            return
        }
        #expect(file.rendered.contains("FLANNEL_IPV6_NETWORK=fd00:1::/56\nFLANNEL_IPV6_SUBNET=\(key.ipv6!.firstHost)/64\n"))
        #expect(drive.actions.contains { if case let .log(_, text) = $0 { text.hasPrefix("acquired lease \(key.subnets)") } else { false } })
    }

    @Test func hostGWHasNoIPv6DeviceAndNoBackendV6Data() {
        var drive = Drive()
        let prepared = drive.read(Self.config("host-gw"))
        #expect(prepared.contains { if case .prepareBackend(_, nil, nil, _, _) = $0 { true } else { false } })
        drive.send(.backendPrepared(device: nil))
        let create = drive.send(.leasesListed(LeaseListing(records: [], revision: 3)))
        #expect(create.contains { action in
            if case let .lease(.create(_, attributes, _)) = action {
                attributes.encoded == #"{"PublicIP":"192.0.2.1","PublicIPv6":"2001:db8::1","BackendType":"host-gw"}"#
            } else { false }
        })
    }
}

extension DualStackAgentTests {
    @Test func nftablesRulesForIPv6AreRefusedWithWhatToDo() {
        var drive = Drive()
        drive.machine = AgentMachine(configuration: .init(
            etcdAPI: .v3, layout: EtcdKeyLayout(prefix: "/coreos.com/network"), host: Self.host,
            leaseTTL: .seconds(86400), leaseTTLText: "24h", renewMargin: .seconds(3600), previousSubnet: nil,
            ipMasq: true, forwardRules: false))
        let config = #"{ "Network": "10.1.0.0/16", "EnableIPv6": true, "IPv6Network": "fd00:1::/56", "EnableNFTables": true, "Backend": { "Type": "vxlan" } }"#
        let message = Self.exitMessage(drive.read(config))
        #expect(message?.contains("EnableIPv6 with EnableNFTables") == true)
        #expect(message?.contains("set EnableNFTables to false") == true)
    }
}

extension DualStackAgentTests {
    @Test func theIPv6DeviceKeepsWithinTheKernelsLimits() {
        let jumbo = BackendHost(publicIP: Self.me, externalName: "eth0", externalAddress: Self.me, externalMTU: 9000, publicIPv6: IPv6Address("2001:db8::1"))
        // A configured MTU above what the underlay leaves is lowered for flannel-v6 (the kernel refuses it).
        #expect(VXLANBackend(mtu: 1500).ipv6Device(on: Self.host) == .vxlanIPv6(vni: 1, port: 8472, mtu: 1430))
        #expect(VXLANBackend(mtu: 8000).ipv6Device(on: jumbo) == .vxlanIPv6(vni: 1, port: 8472, mtu: 8000))
        #expect(VXLANBackend(vni: 10000).ipv6Refusal(on: Self.host)?.contains("flannel-v6.10000, longer than Linux's 15-character device names") == true)
        #expect(VXLANBackend(vni: 9999).ipv6Refusal(on: Self.host) == nil)
        let small = BackendHost(publicIP: Self.me, externalName: "eth0", externalAddress: Self.me, externalMTU: 1340, publicIPv6: IPv6Address("2001:db8::1"))
        #expect(VXLANBackend().ipv6Refusal(on: small)?.contains("flannel-v6.1's MTU would be 1270 (eth0's MTU 1340 − 70), below IPv6's minimum of 1280") == true)
        var drive = Drive(host: small)
        #expect(Self.exitMessage(drive.read(Self.config("vxlan")))?.contains("below IPv6's minimum of 1280") == true)
    }
}

extension DualStackAgentTests {
    @Test func anOlderKeyWithOurIPv6SubnetSeenOnTheWatchMovesUs() throws {
        var drive = Drive()
        _ = drive.read(Self.config("vxlan"))
        drive.send(.backendPrepared(device: .mac(MACAddress("0a:00:00:00:00:01")!), ipv6Device: .mac(MACAddress("0a:00:00:00:00:02")!)))
        drive.send(.leasesListed(LeaseListing(records: [], revision: 3)))
        drive.send(.leaseCreated(modRevision: 4))
        drive.send(.dataPathStarted)
        drive.send(.peersListed(LeaseListing(records: [], revision: 4)))
        let ours = try #require(drive.machine.held).key
        let ipv6 = try #require(ours.ipv6)
        // Written at revision 2 (before ours) by an upstream host, seen late: it keeps the subnet.
        let older = LeaseRecord(key: SubnetKey(IPv4Network("10.1.200.0/24")!, ipv6: ipv6),
                                attributes: LeaseAttributes(publicIP: IPv4Address(192, 0, 2, 9), publicIPv6: IPv6Address("2001:db8::9")),
                                isReservation: false, modRevision: 5, createRevision: 2)
        let actions = drive.send(.watchDelivered(LeaseEventBatch(events: [.put(older)], revision: 5)))
        #expect(actions.contains(.lease(.delete(ours, expectedModRevision: 4))), "\(actions)")
        #expect(actions.contains { if case let .log(.notice, text) = $0 { text.contains("\(ipv6) is also in lease 10.1.200.0-24&") } else { false } })
    }
}
