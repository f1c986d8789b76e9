import Agent
import Testing

/// The IPv6 half of a dual-stack lease in the kernel: what vxlan (`flannel-v6.<VNI>`) and
/// host-gw program for it, as upstream 0.20.2 does, and which peers' IPv6 halves are skipped.
@Suite("Dual-stack kernel backends")
struct DualStackKernelTests {
    typealias Planner = AgentCore.KernelBackendPlanner<IPv6Address>
    typealias Program = AgentCore.KernelPeerProgram<IPv6Address>
    typealias Route = AgentCore.KernelRoute<IPv6Address>

    static let flannelV6 = KernelDevice(index: 8, name: "flannel-v6.1")
    static let eth0 = KernelDevice(index: 2, name: "eth0")
    static let network = IPv6Network("fd00:1::/56")!
    static let own = IPv6Network("fd00:1:0:82::/64")!
    static let underlay = IPv6Network("2001:db8:1::/64")!
    static let macA = MACAddress("c6:d2:32:6f:8f:44")!
    static let macV6 = MACAddress("02:00:00:00:00:66")!

    static func peer(_ ipv4: String, _ ipv6: String?, publicIPv6: String?, type: String = "vxlan", v6MAC: MACAddress? = macV6) -> Peer {
        let data: JSONValue = .object([("VNI", .number("1")), ("VtepMAC", .string(macA.description))])
        let v6Data: JSONValue? = v6MAC.map { .object([("VNI", .number("1")), ("VtepMAC", .string($0.description))]) }
        return Peer(key: SubnetKey(Fixtures.net(ipv4), ipv6: ipv6.map { IPv6Network($0)! }),
                    attributes: LeaseAttributes(publicIP: Fixtures.ip("192.0.2.12"), publicIPv6: publicIPv6.map { IPv6Address($0)! },
                                                backendType: type, backendData: type == "vxlan" ? data : nil,
                                                backendV6Data: type == "vxlan" ? v6Data : nil))
    }

    static func planner(_ backend: any Backend, device: KernelDevice?) -> Planner {
        Planner(backend: BackendConfig(backend), context: .init(external: eth0, externalNetwork: underlay, device: device),
                network: network, subnetLength: 64, ownSubnet: own)
    }

    @Test func vxlanGivesTheIPv6HalfItsOwnNeighbourFDBAndOnlinkRoute() {
        let peer = Self.peer("10.1.15.0/24", "fd00:1:0:15::/64", publicIPv6: "2001:db8:1::12")
        let programs = Self.planner(VXLANBackend(), device: Self.flannelV6).programs(for: [peer])
        let subnet = IPv6Network("fd00:1:0:15::/64")!
        #expect(programs == [Program(
            subnet: subnet,
            neighbour: .init(device: Self.flannelV6, address: subnet.address, mac: Self.macV6),
            fdb: .init(device: Self.flannelV6, mac: Self.macV6, destination: IPv6Address("2001:db8:1::12")!),
            route: Route(destination: subnet, gateway: subnet.address, device: Self.flannelV6, onlink: true))])
        #expect(programs[0].description == "neighbour fd00:1:0:15:: lladdr 02:00:00:00:00:66 dev flannel-v6.1, fdb 02:00:00:00:00:66 dst 2001:db8:1::12 dev flannel-v6.1, route fd00:1:0:15::/64 via fd00:1:0:15:: dev flannel-v6.1 onlink")
    }

    @Test func directRoutingAndHostGWRouteViaThePeersPublicIPv6() {
        let peer = Self.peer("10.1.15.0/24", "fd00:1:0:15::/64", publicIPv6: "2001:db8:1::12", type: "host-gw")
        let subnet = IPv6Network("fd00:1:0:15::/64")!
        let direct = Route(destination: subnet, gateway: IPv6Address("2001:db8:1::12"), device: Self.eth0, onlink: false)
        #expect(Self.planner(HostGWBackend(), device: nil).programs(for: [peer]).map(\.route) == [direct])
        let vxlanPeer = Self.peer("10.1.15.0/24", "fd00:1:0:15::/64", publicIPv6: "2001:db8:1::12")
        #expect(Self.planner(VXLANBackend(directRouting: true), device: Self.flannelV6).programs(for: [vxlanPeer]).map(\.route) == [direct])
    }

    @Test func aPeerWithoutAnIPv6HalfKeepsItsIPv4RoutesAndIsNamedForIPv6() {
        let ipv4Only = Self.peer("10.1.15.0/24", nil, publicIPv6: nil)
        let noPublicIPv6 = Self.peer("10.1.16.0/24", "fd00:1:0:16::/64", publicIPv6: nil)
        let noMAC = Self.peer("10.1.17.0/24", "fd00:1:0:17::/64", publicIPv6: "2001:db8:1::17", v6MAC: nil)
        let outside = Self.peer("10.1.18.0/24", "fd00:9::/64", publicIPv6: "2001:db8:1::18")
        let planner = Self.planner(VXLANBackend(), device: Self.flannelV6)
        #expect(planner.ignoreReason(ipv4Only) == "its lease has no IPv6 subnet")
        #expect(planner.ignoreReason(noPublicIPv6) == "its lease has no PublicIPv6")
        #expect(planner.ignoreReason(noMAC)?.hasPrefix("its BackendV6Data has no usable VtepMAC") == true)
        #expect(planner.ignoreReason(outside) == "its IPv6 subnet is outside the network fd00:1::/56")
        #expect(planner.programs(for: [ipv4Only, noPublicIPv6, noMAC, outside]).isEmpty)
        // The IPv4 half of the same leases is still programmed.
        let ipv4 = AgentCore.KernelBackendPlanner<IPv4Address>(
            backend: BackendConfig(VXLANBackend()),
            context: .init(external: Self.eth0, externalNetwork: Fixtures.net("192.0.2.0/24"), device: KernelDevice(index: 7, name: "flannel.1")),
            network: Fixtures.net("10.1.0.0/16"), subnetLength: 24, ownSubnet: Fixtures.net("10.1.82.0/24"))
        #expect(ipv4.programs(for: [ipv4Only, noPublicIPv6, noMAC, outside]).count == 4)
        let farAway = Self.peer("10.1.19.0/24", "fd00:1:0:19::/64", publicIPv6: "2001:db8:9::19", type: "host-gw")
        #expect(Self.planner(HostGWBackend(), device: nil).ignoreReason(farAway)?.hasPrefix("its PublicIPv6 2001:db8:9::19 is not on eth0's IPv6 network 2001:db8:1::/64") == true)
    }

    @Test func ourOwnIPv6SubnetAndForeignRoutesAreNotOurs() {
        let planner = Self.planner(VXLANBackend(), device: Self.flannelV6)
        let mine = Self.peer("10.1.82.0/24", "fd00:1:0:82::/64", publicIPv6: "2001:db8:1::1")
        #expect(planner.programs(for: [mine]).isEmpty)
        let stale = Route(destination: IPv6Network("fd00:1:0:44::/64")!, gateway: IPv6Address("fd00:1:0:44::"), device: Self.flannelV6, onlink: true)
        // The kernel's own route for the device's /128 address and an operator's /60 stay.
        let kernelOwn = Route(destination: IPv6Network("fd00:1:0:82::/128")!, gateway: nil, device: Self.flannelV6, onlink: false, protocolNumber: 2)
        let operators = Route(destination: IPv6Network("fd00:1:0:40::/60")!, gateway: IPv6Address("2001:db8:1::9"), device: Self.eth0, onlink: false,
                              protocolNumber: 3)
        let plan = planner.plan(peers: [], current: .init(routes: [stale, kernelOwn, operators]))
        #expect(plan.removals == [.deleteRoute(stale)])
    }
}

extension DualStackKernelTests {
    /// The kernel refuses to move an IPv6 onlink route from eth0 to the vxlan device in place
    /// (host-gw or DirectRouting before): the old route goes first. IPv4 keeps the in-place
    /// replace (no gap).
    @Test func anIPv6RouteOnAnotherDeviceIsDeletedBeforeItsReplacementIsAdded() {
        let subnet = IPv6Network("fd00:1:0:15::/64")!
        let hostGWRoute = Route(destination: subnet, gateway: IPv6Address("2001:db8:1::12"), device: Self.eth0, onlink: false)
        let peer = Self.peer("10.1.15.0/24", "fd00:1:0:15::/64", publicIPv6: "2001:db8:1::12")
        let plan = Self.planner(VXLANBackend(), device: Self.flannelV6).plan(peers: [peer], current: .init(routes: [hostGWRoute]))
        #expect(plan.removals == [.deleteRoute(hostGWRoute)])
        #expect(plan.additions.first?.steps.last == .replaceRoute(Route(destination: subnet, gateway: subnet.address, device: Self.flannelV6, onlink: true)))

        let ipv4Subnet = Fixtures.net("10.1.15.0/24")
        let flannel1 = KernelDevice(index: 7, name: "flannel.1")
        let ipv4 = AgentCore.KernelBackendPlanner<IPv4Address>(
            backend: BackendConfig(VXLANBackend()), context: .init(external: Self.eth0, externalNetwork: Fixtures.net("192.0.2.0/24"), device: flannel1),
            network: Fixtures.net("10.1.0.0/16"), subnetLength: 24, ownSubnet: nil)
        let ipv4HostGW = AgentCore.KernelRoute<IPv4Address>(destination: ipv4Subnet, gateway: Fixtures.ip("192.0.2.12"), device: Self.eth0, onlink: false)
        #expect(ipv4.plan(peers: [peer], current: .init(routes: [ipv4HostGW])).removals.isEmpty)
    }
}
