@testable import Agent
import Testing

/// The backends as registered: looked up by name on both sides, each one's MTU, refusals,
/// device and lease as COMPAT.md says, and the agent machine taking them from the backend.
@Suite("Backends: one pure half and one Linux half per type name")
struct BackendTests {
    static let me = IPv4Address(192, 0, 2, 1)
    static let host = BackendHost(publicIP: me, externalName: "eth0", externalAddress: me, externalMTU: 1500)
    static let mac = MACAddress("c6:d2:32:6f:8f:44")!

    @Test func everyBackendIsRegisteredOnceOnEachSide() {
        let pure = BackendCatalogue.typeNames
        #expect(pure == ["udp", "vxlan", "host-gw", "wireguard"])
        #expect(Set(pure).count == pure.count)
        #expect(LinuxBackends.registered.map { $0.typeName } == pure, "each pure backend needs its Linux half registered")
        #expect(BackendCatalogue.backend(named: "Host-GW") == HostGWBackend.self)
        #expect(BackendCatalogue.backend(named: "ipip") == nil)
    }

    @Test func unknownAndUpstreamOnlyTypesAreRefusedNamingTheRegisteredOnes() {
        func message(_ type: String) -> String? {
            do {
                _ = try NetworkConfig.decode(#"{"Network":"10.1.0.0/16","Backend":{"Type":"\#(type)"}}"#)
                return nil
            } catch {
                return error.message
            }
        }
        #expect(message("ipip") == #""ipip" is an upstream flannel backend that this agent does not implement; use one of udp, vxlan, host-gw, wireguard"#)
        #expect(message("vxlna") == #""vxlna" is not a known backend; use one of udp, vxlan, host-gw, wireguard"#)
        #expect(message("") == "is empty; set it to one of udp, vxlan, host-gw, wireguard")
    }

    @Test func mtuPerBackendAsCOMPATSays() {
        #expect(UDPBackend().mtu(on: Self.host) == 1472)
        #expect(VXLANBackend().mtu(on: Self.host) == 1450)
        #expect(VXLANBackend(mtu: 1400).mtu(on: Self.host) == 1400)
        #expect(HostGWBackend().mtu(on: Self.host) == 1500)
    }

    @Test func backendsRefuseHostsTheyCannotRunOnAndSayWhatToChange() {
        var small = Self.host
        small.externalMTU = 90
        #expect(UDPBackend().refusal(on: small)?.hasPrefix("udp backend: eth0's MTU 90 leaves 62 after 28 bytes") == true)
        #expect(VXLANBackend().refusal(on: small)?.hasPrefix("vxlan backend: eth0's MTU 90 leaves 40 after 50 bytes") == true)
        #expect(HostGWBackend().refusal(on: small) == nil)
        var natted = Self.host
        natted.publicIP = IPv4Address(198, 51, 100, 7)
        #expect(HostGWBackend().refusal(on: natted)?.contains("drop --public-ip, or use the vxlan backend") == true)
        #expect(UDPBackend().refusal(on: natted) == nil)
        #expect(VXLANBackend().refusal(on: natted) == nil)
    }

    @Test func devicesAndLeasesPerBackend() {
        #expect(UDPBackend().device(on: Self.host) == nil)
        #expect(HostGWBackend().device(on: Self.host) == nil)
        #expect(VXLANBackend(vni: 4, port: 4789).device(on: Self.host) == .vxlan(vni: 4, port: 4789, mtu: 1450))
        #expect(UDPBackend().leaseAttributes(publicIP: Self.me, device: nil).encoded == #"{"PublicIP":"192.0.2.1","PublicIPv6":null}"#)
        #expect(HostGWBackend().leaseAttributes(publicIP: Self.me, device: nil).encoded
            == #"{"PublicIP":"192.0.2.1","PublicIPv6":null,"BackendType":"host-gw"}"#)
        #expect(VXLANBackend().leaseAttributes(publicIP: Self.me, device: .mac(Self.mac)).encoded
            == #"{"PublicIP":"192.0.2.1","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}"#)
        #expect(UDPBackend(port: 9000).forwarding == .userSpaceUDP(port: 9000))
        #expect(VXLANBackend().forwarding == .kernel)
    }

    @Test("the machine asks for the backend's device first and puts its MAC and MTU in the lease and subnet.env")
    func machineTakesDeviceMTUAndLeaseFromTheBackend() throws {
        var drive = AgentMachineTests.Drive()
        drive.send(.start)
        let prepared = drive.send(.configRead(.v3, .success(#"{"Network":"10.1.0.0/16","Backend":{"Type":"vxlan","VNI":4}}"#)))
        let plan = try #require(drive.machine.plan)
        #expect(prepared.last == .prepareBackend(BackendConfig(VXLANBackend(vni: 4)), device: .vxlan(vni: 4, port: 8472, mtu: 1450),
                                                 plan: plan))
        drive.send(.backendPrepared(device: .mac(Self.mac)))
        drive.send(.leasesListed(LeaseListing(records: [], revision: 3)))
        let created = drive.actions.compactMap { action -> LeaseAttributes? in
            if case let .lease(.create(_, attributes, _)) = action { attributes } else { nil }
        }
        #expect(created.map(\.encoded) == [#"{"PublicIP":"192.0.2.1","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4,"VtepMAC":"c6:d2:32:6f:8f:44"}}"#])
        drive.send(.leaseCreated(modRevision: 4))
        drive.send(.dataPathStarted)
        let files = drive.actions.compactMap { action -> SubnetFile? in
            if case let .writeSubnetFile(file) = action { file } else { nil }
        }
        #expect(files.map(\.mtu) == [1450])
    }

    @Test("a backend that refuses the host ends the agent before any device or lease")
    func refusalEndsTheAgentBeforeTheLease() {
        var natted = Self.host
        natted.publicIP = IPv4Address(198, 51, 100, 7)
        var drive = AgentMachineTests.Drive(host: natted)
        drive.send(.start)
        let actions = drive.send(.configRead(.v3, .success(#"{"Network":"10.1.0.0/16","Backend":{"Type":"host-gw"}}"#)))
        #expect(!actions.contains { if case .prepareBackend = $0 { true } else { false } })
        guard case let .exit(.failed(message))? = actions.last else { Issue.record("no exit: \(actions)"); return }
        #expect(message.hasPrefix("host-gw backend: the public IP 198.51.100.7 is not eth0's address 192.0.2.1"))
        #expect(drive.machine.phase == .stopped)
    }
}
