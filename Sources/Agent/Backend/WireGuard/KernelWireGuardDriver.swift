import CLinuxShims
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// The kernel's WireGuard: the link made through rtnetlink (`type wireguard`), its key, port
/// and peers through the "wireguard" generic netlink family. A kernel without the module
/// has no such family: `unavailableReason` says so before anything is made, and `init` throws.
final class KernelWireGuardDriver: WireGuardDriver {
    let kind = "kernel"
    private let netlink: RouteNetlink
    private let generic: NetlinkSocket
    private let family: Int
    private var name = WireGuardBackend.deviceName

    init(netlink: RouteNetlink) throws {
        self.netlink = netlink
        generic = try NetlinkSocket(protocol: Int32(NETLINK_GENERIC))
        family = try Self.familyID(generic)
    }

    /// Why the kernel's WireGuard cannot be used (no "wireguard" family), or nil.
    static func unavailableReason() -> String? {
        do {
            _ = try familyID(try NetlinkSocket(protocol: Int32(NETLINK_GENERIC)))
            return nil
        } catch let error as NetlinkError where error.errno == ENOENT {
            return "this kernel has no WireGuard (no \"wireguard\" generic netlink family)"
        } catch {
            return "\(error)"
        }
    }

    private static func familyID(_ socket: NetlinkSocket) throws -> Int {
        let answers = try socket.dump({ sequence in WireGuardNetlink.familyRequest(sequence: sequence) },
                                      operation: "look up the generic netlink family \"wireguard\"")
        guard let family = answers.lazy.compactMap({ WireGuardNetlink.familyID(in: $0.payload) }).first else {
            throw WireGuardSetupError("the kernel answered the wireguard family lookup without an id")
        }
        return family
    }

    func ensureDevice(name: String, mtu: Int, logger: Logger) throws -> Bool {
        self.name = name
        if let link = try netlink.link(named: name) {
            if link.kind == "wireguard" {
                if link.mtu != mtu { try netlink.setMTU(link.device, mtu) }
                if !link.isUp { try netlink.setUp(link.device) }
                return false
            }
            logger.warning("replacing \(link): it is a \(link.kind ?? "plain") device, not wireguard")
            try netlink.deleteLink(link.device)
        }
        try netlink.createLink(name: name, kind: "wireguard", mtu: mtu)
        guard let made = try netlink.link(named: name) else { throw NetlinkError(operation: "find \(name) after creating it", errno: ENODEV) }
        try netlink.setUp(made.device)
        logger.info("created \(made)")
        return true
    }

    func configure(privateKey: WireGuardSecret?, listenPort: Int?, plan: WireGuardPeerPlan) throws {
        // Device settings with the first piece; 100 peers keep a message near 15 KB.
        let pieces = plan.chunks(of: 100)
        for index in pieces.indices {
            let result = send(pieces[index], privateKey: index == 0 ? privateKey : nil, listenPort: index == 0 ? listenPort : nil)
            if case let .failure(error) = result {
                if error.errno == EADDRINUSE {
                    throw WireGuardSetupError("\(name): UDP port \(listenPort.map(String.init) ?? "?") is in use by another socket; free it, or set Backend.\(name == WireGuardBackend.ipv6DeviceName ? "ListenPortV6" : "ListenPort") to another port")
                }
                throw error
            }
        }
    }

    private func send(_ piece: WireGuardPeerPlan, privateKey: WireGuardSecret?, listenPort: Int?) -> Result<Void, NetlinkError> {
        let (family, name) = (family, name)
        return Result { () throws(NetlinkError) in
            try generic.request({ sequence in
                WireGuardNetlink.setDevice(family: family, sequence: sequence, name: name, privateKey: privateKey, listenPort: listenPort, plan: piece)
            }, operation: "configure \(name) (\(piece.removals.count) peer(s) removed, \(piece.updates.count) set)")
        }
    }

    func read() throws -> WireGuardDeviceState {
        let answers = try generic.dump({ sequence in WireGuardNetlink.getDevice(family: family, sequence: sequence, name: name) },
                                       operation: "read \(name)'s WireGuard settings")
        return WireGuardNetlink.parseDevice(answers.map(\.payload))
    }

    func detach(logger: Logger) {
        logger.info("leaving \(name) and its peers in place; the next start reuses them")
    }
}
