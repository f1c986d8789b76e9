import Agent
import Foundation
import NetnsLab
import Testing


/// The rtnetlink client checked against iproute2, in a namespace of its own: what our client
/// creates, `ip -j`/`bridge -j` report as asked; what `ip`/`bridge` create, our dumps read
/// back the same; refusals carry the errno and name the object.
@Suite("Netlink client against iproute2", .serialized, .enabled(if: LabGate.shouldRun))
struct NetlinkClientTests {
    @Test func whatWeCreateIsWhatIPReportsAndWhatIPCreatesIsWhatWeRead() throws {
        guard LabGate.requireRoot() else { return }
        let names = LabNames()
        let namespace = names.namespace("nl")
        defer { _ = try? CommandRunner.run(["ip", "netns", "del", namespace], duringCleanup: true) }
        try CommandRunner.check(["ip", "netns", "add", namespace])
        try ip(namespace, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer")
        try ip(namespace, "link", "set", "eth0-peer", "up")
        try ip(namespace, "addr", "add", "192.0.2.11/24", "dev", "eth0")
        try ip(namespace, "link", "set", "eth0", "up")

        let netlink = try RouteNetlink(namespacePath: "/var/run/netns/\(namespace)")
        let eth0 = try #require(try netlink.link(named: "eth0"))
        #expect(try netlink.addresses(on: eth0.device) == [InterfaceAddress(address: IPv4Address("192.0.2.11")!, prefixLength: 24)])

        // A vxlan device as flanneld makes it.
        let mac = MACAddress("02:aa:bb:cc:dd:01")!
        try netlink.createVXLAN(name: "flannel.1", vni: 1, local: IPv4Address("192.0.2.11")!, underlayIndex: eth0.index,
                                port: 8472, mac: mac, mtu: 1450)
        let created = try #require(try netlink.link(named: "flannel.1"))
        try netlink.setUp(created.device)
        try netlink.replaceAddress(InterfaceAddress(address: IPv4Address("10.1.82.0")!, prefixLength: 32), on: created.device)
        let link = try #require(try json(namespace, ["ip", "-j", "-d", "link", "show", "flannel.1"]).first)
        #expect(link["address"] as? String == "02:aa:bb:cc:dd:01")
        #expect(link["mtu"] as? Int == 1450)
        #expect((link["flags"] as? [String])?.contains("UP") == true)
        let info = (link["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any]
        #expect((link["linkinfo"] as? [String: Any])?["info_kind"] as? String == "vxlan")
        #expect(info?["id"] as? Int == 1)
        #expect(info?["local"] as? String == "192.0.2.11")
        #expect(info?["port"] as? Int == 8472)
        #expect(info?["link"] as? String == "eth0")
        #expect(info?["learning"] as? Bool == false)
        let addresses = try json(namespace, ["ip", "-j", "addr", "show", "dev", "flannel.1"]).first?["addr_info"] as? [[String: Any]]
        #expect(addresses?.filter { $0["family"] as? String == "inet" }.map { "\($0["local"] ?? "")/\($0["prefixlen"] ?? "")" } == ["10.1.82.0/32"])
        #expect(created.vxlan == KernelLink.VXLAN(vni: 1, local: IPv4Address("192.0.2.11"), port: 8472, underlayIndex: eth0.index, learning: false))
        #expect(created.mac == mac)

        // A peer's three entries, added by us.
        let device = created.device
        let peerMAC = MACAddress("c6:d2:32:6f:8f:44")!
        try netlink.apply(.replaceNeighbour(KernelNeighbour(device: device, address: IPv4Address("10.1.15.0")!, mac: peerMAC)))
        try netlink.apply(.replaceFDB(KernelFDBEntry(device: device, mac: peerMAC, destination: IPv4Address("192.0.2.12")!)))
        try netlink.apply(.replaceFDB(KernelFDBEntry(device: device, mac: peerMAC, destination: IPv4Address("192.0.2.12")!)))  // twice: no error
        try netlink.apply(.replaceRoute(KernelRoute(destination: IPv4Network("10.1.15.0/24")!, gateway: IPv4Address("10.1.15.0"), device: device, onlink: true)))
        let neighbours = try json(namespace, ["ip", "-j", "neigh", "show", "dev", "flannel.1"])
        #expect(neighbours.map { "\($0["dst"] ?? "") \($0["lladdr"] ?? "") \(($0["state"] as? [String]) ?? [])" } == ["10.1.15.0 c6:d2:32:6f:8f:44 [\"PERMANENT\"]"])
        let fdb = try json(namespace, ["bridge", "-j", "fdb", "show", "dev", "flannel.1"]).filter { $0["dst"] != nil }
        #expect(fdb.map { "\($0["mac"] ?? "") \($0["dst"] ?? "") \(($0["flags"] as? [String]) ?? []) \($0["state"] ?? "")" }
            == ["c6:d2:32:6f:8f:44 192.0.2.12 [\"self\"] permanent"])
        let routes = try json(namespace, ["ip", "-j", "route", "show", "dev", "flannel.1"])
        #expect(routes.map { "\($0["dst"] ?? "") via \($0["gateway"] ?? "") \(($0["flags"] as? [String]) ?? [])" } == ["10.1.15.0/24 via 10.1.15.0 [\"onlink\"]"])
        // Our mark, by which any route we made is found again whatever its length.
        #expect(routes.map { "\($0["protocol"] ?? "")" } == ["\(KernelRoute.flannelProtocol)"])

        // Entries iproute2 adds, read back by our dumps.
        try ip(namespace, "neigh", "add", "10.1.16.0", "lladdr", "02:00:00:00:00:16", "dev", "flannel.1", "nud", "permanent")
        try CommandRunner.check(["ip", "netns", "exec", namespace, "bridge", "fdb", "append", "02:00:00:00:00:16", "dev", "flannel.1", "dst", "192.0.2.16", "self", "permanent"])
        try ip(namespace, "route", "add", "10.1.16.0/24", "via", "10.1.16.0", "dev", "flannel.1", "onlink")
        try ip(namespace, "route", "add", "10.1.17.0/24", "via", "192.0.2.17", "dev", "eth0")
        #expect(try netlink.neighbours(on: device).sorted().map(\.description)
            == ["neighbour 10.1.15.0 lladdr c6:d2:32:6f:8f:44 dev flannel.1", "neighbour 10.1.16.0 lladdr 02:00:00:00:00:16 dev flannel.1"])
        #expect(try netlink.forwardingEntries(on: device).sorted().map(\.description)
            == ["fdb 02:00:00:00:00:16 dst 192.0.2.16 dev flannel.1", "fdb c6:d2:32:6f:8f:44 dst 192.0.2.12 dev flannel.1"])
        let ours = try netlink.routes(devices: try netlink.links().map(\.device)).filter { IPv4Network("10.1.0.0/16")!.contains($0.destination) }
        #expect(ours.sorted().map(\.description) == [
            "10.1.15.0/24 via 10.1.15.0 dev flannel.1 onlink",
            "10.1.16.0/24 via 10.1.16.0 dev flannel.1 onlink proto 3",
            "10.1.17.0/24 via 192.0.2.17 dev eth0 proto 3",
        ])

        // Deletes remove exactly the entry named.
        try netlink.apply(.deleteRoute(KernelRoute(destination: IPv4Network("10.1.16.0/24")!, gateway: IPv4Address("10.1.16.0"), device: device, onlink: true)))
        try netlink.apply(.deleteFDB(KernelFDBEntry(device: device, mac: MACAddress("02:00:00:00:00:16")!, destination: IPv4Address("192.0.2.16")!)))
        try netlink.apply(.deleteNeighbour(KernelNeighbour(device: device, address: IPv4Address("10.1.16.0")!, mac: MACAddress("02:00:00:00:00:16")!)))
        #expect(try json(namespace, ["ip", "-j", "route", "show", "dev", "flannel.1"]).count == 1)
        #expect(try json(namespace, ["ip", "-j", "neigh", "show", "dev", "flannel.1"]).count == 1)
        #expect(try json(namespace, ["bridge", "-j", "fdb", "show", "dev", "flannel.1"]).filter { $0["dst"] != nil }.count == 1)

        // Refusals name the object and carry the errno.
        #expect {
            try netlink.createVXLAN(name: "flannel.1", vni: 1, local: IPv4Address("192.0.2.11")!, underlayIndex: eth0.index,
                                    port: 8472, mac: mac, mtu: 1450)
        } throws: { error in
            let error = error as? NetlinkError
            return error?.errno == EEXIST && error?.description.contains("create vxlan device flannel.1") == true
        }
        #expect {
            try netlink.replaceRoute(KernelRoute(destination: IPv4Network("10.1.20.0/24")!, gateway: IPv4Address("203.0.113.9"), device: eth0.device, onlink: false))
        } throws: { error in
            let error = error as? NetlinkError
            return error?.errno == ENETUNREACH && error?.description.contains("add route 10.1.20.0/24 via 203.0.113.9 dev eth0") == true
        }

        try netlink.deleteLink(device)
        #expect(try netlink.link(named: "flannel.1") == nil)
    }

    @discardableResult
    private func ip(_ namespace: String, _ arguments: String...) throws -> CommandResult {
        try CommandRunner.check(["ip", "-n", namespace] + arguments)
    }

    private func json(_ namespace: String, _ command: [String]) throws -> [[String: Any]] {
        let output = try CommandRunner.check(["ip", "netns", "exec", namespace] + command).stdout
        guard !output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return [] }
        return try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]] ?? []
    }
}
