import Agent
import Testing


@Suite("Kernel backends: what each peer needs, and the diff that gets it there")
struct KernelPlanTests {
    static let flannel1 = KernelDevice(index: 7, name: "flannel.1")
    static let eth0 = KernelDevice(index: 2, name: "eth0")
    static let docker0 = KernelDevice(index: 3, name: "docker0")
    static let network = Fixtures.net("10.1.0.0/16")
    static let own = Fixtures.net("10.1.82.0/24")
    static let macA = MACAddress("c6:d2:32:6f:8f:44")!
    static let macB = MACAddress("02:00:00:00:00:0b")!

    static func vxlanPeer(_ subnet: String, _ publicIP: String, mac: MACAddress?, type: String? = "vxlan") -> Peer {
        var data: JSONValue?
        if let mac { data = .object([("VNI", .number("1")), ("VtepMAC", .string(mac.description))]) }
        return Peer(key: Fixtures.key(subnet), attributes: LeaseAttributes(publicIP: Fixtures.ip(publicIP), backendType: type, backendData: data))
    }

    static func vxlanPlanner(directRouting: Bool = false) -> KernelBackendPlanner {
        KernelBackendPlanner(backend: BackendConfig(VXLANBackend(directRouting: directRouting)),
                             context: KernelPeerContext(external: eth0, externalNetwork: Fixtures.net("192.0.2.0/24"), device: flannel1),
                             network: network, subnetLength: 24, ownSubnet: own)
    }

    static let hostGW = KernelBackendPlanner(backend: BackendConfig(HostGWBackend()),
                                             context: KernelPeerContext(external: eth0, externalNetwork: Fixtures.net("192.0.2.0/24"), device: nil),
                                             network: network, subnetLength: 24, ownSubnet: own)

    static func vxlanProgram(_ subnet: String, _ publicIP: String, _ mac: MACAddress) -> KernelPeerProgram {
        let net = Fixtures.net(subnet)
        return KernelPeerProgram(
            subnet: net,
            neighbour: KernelNeighbour(device: flannel1, address: net.address, mac: mac),
            fdb: KernelFDBEntry(device: flannel1, mac: mac, destination: Fixtures.ip(publicIP)),
            route: KernelRoute(destination: net, gateway: net.address, device: flannel1, onlink: true))
    }

    @Test func vxlanPeerGetsNeighbourFDBAndOnlinkRouteAsCOMPATSays() {
        let programs = Self.vxlanPlanner().programs(for: [Self.vxlanPeer("10.1.15.0/24", "192.0.2.12", mac: Self.macA)])
        #expect(programs == [Self.vxlanProgram("10.1.15.0/24", "192.0.2.12", Self.macA)])
        #expect(programs[0].description
            == "neighbour 10.1.15.0 lladdr c6:d2:32:6f:8f:44 dev flannel.1, fdb c6:d2:32:6f:8f:44 dst 192.0.2.12 dev flannel.1, route 10.1.15.0/24 via 10.1.15.0 dev flannel.1 onlink")
    }

    @Test func leasesOfAnotherBackendOrWithoutAVtepMACAreIgnoredWithAReason() {
        let planner = Self.vxlanPlanner()
        let udp = Self.vxlanPeer("10.1.15.0/24", "192.0.2.12", mac: nil, type: nil)
        let noMAC = Self.vxlanPeer("10.1.16.0/24", "192.0.2.13", mac: nil)
        let outside = Self.vxlanPeer("10.9.1.0/24", "192.0.2.14", mac: Self.macA)
        #expect(planner.ignoreReason(udp) == "its lease is for backend udp, this host runs vxlan")
        #expect(planner.ignoreReason(noMAC)?.contains("no usable VtepMAC") == true)
        #expect(planner.ignoreReason(outside) == "its subnet is outside the network 10.1.0.0/16")
        #expect(planner.programs(for: [udp, noMAC, outside]).isEmpty)
        #expect(Self.hostGW.ignoreReason(Self.vxlanPeer("10.1.15.0/24", "192.0.2.12", mac: Self.macA)) != nil)
        let farAway = Peer(key: Fixtures.key("10.1.15.0/24"), attributes: LeaseAttributes(publicIP: Fixtures.ip("198.51.100.7"), backendType: "host-gw"))
        #expect(Self.hostGW.ignoreReason(farAway)?.hasPrefix("its PublicIP 198.51.100.7 is not on eth0's network 192.0.2.0/24") == true)
    }

    @Test func directRoutingUsesThePublicIPOnlyForPeersOnOurL2() {
        let near = Self.vxlanPeer("10.1.15.0/24", "192.0.2.12", mac: Self.macA)
        let far = Self.vxlanPeer("10.1.16.0/24", "198.51.100.7", mac: Self.macB)
        let programs = Self.vxlanPlanner(directRouting: true).programs(for: [far, near])
        #expect(programs == [
            KernelPeerProgram(subnet: Fixtures.net("10.1.15.0/24"), route: KernelRoute(
                destination: Fixtures.net("10.1.15.0/24"), gateway: Fixtures.ip("192.0.2.12"), device: Self.eth0, onlink: false)),
            Self.vxlanProgram("10.1.16.0/24", "198.51.100.7", Self.macB),
        ])
    }

    @Test func hostGWRoutesEachPeerViaItsPublicIP() {
        let peer = Peer(key: Fixtures.key("10.1.15.0/24"), attributes: LeaseAttributes(publicIP: Fixtures.ip("192.0.2.12"), backendType: "host-gw"))
        #expect(Self.hostGW.programs(for: [peer]).map(\.route.description) == ["10.1.15.0/24 via 192.0.2.12 dev eth0"])
    }

    @Test func onlyTheBackendsOwnObjectsAreInScope() {
        // An operator's routes (proto static), whatever their size and device.
        let foreign = KernelTables(routes: [
            KernelRoute(destination: Fixtures.net("0.0.0.0/0"), gateway: Fixtures.ip("192.0.2.1"), device: Self.eth0, onlink: true, protocolNumber: 4),
            KernelRoute(destination: Fixtures.net("192.0.2.0/24"), gateway: nil, device: Self.eth0, onlink: false, protocolNumber: 4),
            KernelRoute(destination: Self.own, gateway: nil, device: Self.docker0, onlink: false, protocolNumber: 4),
            KernelRoute(destination: Fixtures.net("10.2.0.0/24"), gateway: Fixtures.ip("192.0.2.50"), device: Self.eth0, onlink: false, protocolNumber: 4),
            KernelRoute(destination: Fixtures.net("10.1.0.0/16"), gateway: nil, device: Self.flannel1, onlink: false, protocolNumber: 4),
            KernelRoute(destination: Fixtures.net("10.1.40.0/24"), gateway: nil, device: Self.docker0, onlink: false, protocolNumber: 4),
            KernelRoute(destination: Fixtures.net("10.1.64.0/18"), gateway: Fixtures.ip("192.0.2.64"), device: Self.eth0, onlink: false, protocolNumber: 4),
            KernelRoute(destination: Fixtures.net("10.1.5.0/25"), gateway: Fixtures.ip("192.0.2.65"), device: Self.eth0, onlink: false, protocolNumber: 4),
        ], neighbours: [KernelNeighbour(device: Self.eth0, address: Fixtures.ip("192.0.2.1"), mac: Self.macB)])
        let stale = KernelTables(
            routes: [
                KernelRoute(destination: Fixtures.net("10.1.99.0/24"), gateway: Fixtures.ip("10.1.99.0"), device: Self.flannel1, onlink: true),
                KernelRoute(destination: Fixtures.net("10.1.98.0/24"), gateway: Fixtures.ip("192.0.2.98"), device: Self.eth0, onlink: false),
                // Left from when this subnet was a peer's (we took it over after a drift).
                KernelRoute(destination: Self.own, gateway: Self.own.address, device: Self.flannel1, onlink: true),
            ],
            neighbours: [KernelNeighbour(device: Self.flannel1, address: Fixtures.ip("10.1.99.0"), mac: Self.macB)],
            fdb: [KernelFDBEntry(device: Self.flannel1, mac: Self.macB, destination: Fixtures.ip("192.0.2.99"))])
        let everything = KernelTables(routes: foreign.routes + stale.routes, neighbours: foreign.neighbours + stale.neighbours, fdb: stale.fdb)
        #expect(Self.vxlanPlanner().managed(everything) == stale)

        // With no peers left, exactly the stale entries go: routes first, then fdb, then neighbours.
        let plan = Self.vxlanPlanner().plan(peers: [], current: everything)
        #expect(plan.additions.isEmpty)
        #expect(plan.removals == [.deleteRoute(stale.routes[2]), .deleteRoute(stale.routes[1]), .deleteRoute(stale.routes[0]),
                                  .deleteFDB(stale.fdb[0]), .deleteNeighbour(stale.neighbours[0])])
    }

    @Test func planFromNothingProgramsEachPeerInOrderAndFromDoneChangesNothing() {
        let peers = [Self.vxlanPeer("10.1.16.0/24", "192.0.2.13", mac: Self.macB), Self.vxlanPeer("10.1.15.0/24", "192.0.2.12", mac: Self.macA)]
        let planner = Self.vxlanPlanner()
        let plan = planner.plan(peers: peers, current: KernelTables())
        let first = Self.vxlanProgram("10.1.15.0/24", "192.0.2.12", Self.macA)
        #expect(plan.removals.isEmpty)
        #expect(plan.additions.map(\.subnet) == [Fixtures.net("10.1.15.0/24"), Fixtures.net("10.1.16.0/24")])
        #expect(plan.additions[0].steps == [.replaceNeighbour(first.neighbour!), .replaceFDB(first.fdb!), .replaceRoute(first.route)])

        let done = planner.programs(for: peers)
        let current = KernelTables(routes: done.map(\.route), neighbours: done.compactMap(\.neighbour), fdb: done.compactMap(\.fdb))
        #expect(planner.plan(peers: peers, current: current).isEmpty)
    }

    @Test func aPeerThatChangedItsMACAndAddressGetsNewEntriesAndLosesTheOldForwardingEntry() {
        let planner = Self.vxlanPlanner()
        let before = planner.programs(for: [Self.vxlanPeer("10.1.15.0/24", "192.0.2.12", mac: Self.macA)])
        let current = KernelTables(routes: before.map(\.route), neighbours: before.compactMap(\.neighbour), fdb: before.compactMap(\.fdb))
        let after = Self.vxlanProgram("10.1.15.0/24", "192.0.2.20", Self.macB)
        let plan = planner.plan(peers: [Self.vxlanPeer("10.1.15.0/24", "192.0.2.20", mac: Self.macB)], current: current)
        #expect(plan.removals == [.deleteFDB(before[0].fdb!)])
        #expect(plan.additions.map(\.steps) == [[.replaceNeighbour(after.neighbour!), .replaceFDB(after.fdb!)]])
    }

    @Test func aPeerThatMovedToANewPublicIPKeepingItsMACHasItsForwardingEntryReplacedWithoutAGap() {
        let planner = Self.vxlanPlanner()
        let before = planner.programs(for: [Self.vxlanPeer("10.1.15.0/24", "192.0.2.12", mac: Self.macA)])
        let current = KernelTables(routes: before.map(\.route), neighbours: before.compactMap(\.neighbour), fdb: before.compactMap(\.fdb))
        let after = Self.vxlanProgram("10.1.15.0/24", "192.0.2.20", Self.macA)
        let plan = planner.plan(peers: [Self.vxlanPeer("10.1.15.0/24", "192.0.2.20", mac: Self.macA)], current: current)
        #expect(plan.removals.isEmpty)
        #expect(plan.additions.map(\.steps) == [[.replaceFDB(after.fdb!)]])
    }

    @Test func aFailedStepUndoesThatPeersEarlierStepsAndTheNextPeerStillGetsProgrammed() {
        struct Refused: Error, CustomStringConvertible { var description: String { "File exists" } }
        let peers = [Self.vxlanPeer("10.1.15.0/24", "192.0.2.12", mac: Self.macA), Self.vxlanPeer("10.1.16.0/24", "192.0.2.13", mac: Self.macB)]
        let plan = Self.vxlanPlanner().plan(peers: peers, current: KernelTables())
        var seen: [KernelStep] = []
        let failing = plan.additions[0].steps[2]
        let outcome = plan.execute { step in
            seen.append(step)
            if step == failing { throw Refused() }
        }
        let first = plan.additions[0].steps
        #expect(outcome.failures.map(\.description) == ["\(failing): File exists"])
        #expect(outcome.undone == [first[1], first[0]])
        #expect(seen == first + [first[1].undo, first[0].undo] + plan.additions[1].steps)
        #expect(outcome.applied == plan.additions[1].steps)
    }

    @Test func macAddressesParseAndPrintAsUpstreamWritesThem() {
        #expect(MACAddress("C6:D2:32:6F:8F:44")?.description == "c6:d2:32:6f:8f:44")
        #expect(MACAddress("c6:d2:32:6f:8f") == nil)
        #expect(MACAddress("c6:d2:32:6f:8f:4") == nil)
        #expect(MACAddress("c6-d2-32-6f-8f-44") == nil)
        // Found by fuzzing: UInt8(_:radix:) takes a sign.
        #expect(MACAddress("+c:d2:32:6f:8f:44") == nil && MACAddress("-0:d2:32:6f:8f:44") == nil)
        let random = MACAddress.locallyAdministered(from: [0xff, 1, 2, 3, 4, 5])
        #expect(random.description == "fe:01:02:03:04:05")
        #expect(random.isLocallyAdministeredUnicast)
    }
}
