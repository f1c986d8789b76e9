import CLinuxShims
#if canImport(Glibc)
import Glibc
#endif

/// The kernel's WireGuard over generic netlink: the messages of `include/uapi/linux/wireguard.h`
/// (family "wireguard", version 1) and the controller's family lookup. Keys are raw bytes
/// here, endpoints `struct sockaddr_in`/`sockaddr_in6`, nests flagged NLA_F_NESTED as `wg` sends them.
enum WireGuardNetlink {
    static let familyName = "wireguard"
    static let version: UInt8 = 1

    // Generic netlink's controller (linux/genetlink.h).
    static let controllerID = 0x10  // GENL_ID_CTRL
    static let getFamilyCommand: UInt8 = 3  // CTRL_CMD_GETFAMILY
    static let controllerFamilyID = 1  // CTRL_ATTR_FAMILY_ID
    static let controllerFamilyName = 2  // CTRL_ATTR_FAMILY_NAME

    enum Command: UInt8 {
        case getDevice = 0  // WG_CMD_GET_DEVICE
        case setDevice = 1  // WG_CMD_SET_DEVICE
    }

    /// `enum wgdevice_attribute`.
    enum Device: Int {
        case ifindex = 1, ifname, privateKey, publicKey, flags, listenPort, fwmark, peers
    }

    static let replacePeersFlag: UInt32 = 1  // WGDEVICE_F_REPLACE_PEERS

    /// `enum wgpeer_attribute`.
    enum PeerAttribute: Int {
        case publicKey = 1, presharedKey, flags, endpoint, persistentKeepaliveInterval, lastHandshakeTime, rxBytes, txBytes, allowedIPs, protocolVersion
    }

    static let removeMeFlag: UInt32 = 1  // WGPEER_F_REMOVE_ME
    static let replaceAllowedIPsFlag: UInt32 = 2  // WGPEER_F_REPLACE_ALLOWEDIPS

    /// `enum wgallowedip_attribute`.
    enum AllowedIP: Int {
        case family = 1, ipAddress, cidrMask
    }

    static let nested = 0x8000  // NLA_F_NESTED

    /// `CTRL_CMD_GETFAMILY` for "wireguard": the answer carries the family's id.
    static func familyRequest(sequence: UInt32) -> NetlinkMessage {
        var message = NetlinkMessage(type: controllerID, flags: Int32(NLM_F_REQUEST) | Int32(NLM_F_ACK), sequence: sequence)
        appendGenericHeader(&message, command: getFamilyCommand, version: 1)
        message.attribute(controllerFamilyName, string: familyName)
        return message
    }

    /// The family id in a `CTRL_CMD_GETFAMILY` answer (payload after the netlink header).
    static func familyID(in payload: ArraySlice<UInt8>) -> Int? {
        guard payload.count >= 4 else { return nil }
        let attributes = NetlinkAttributes(payload.dropFirst(4))
        return attributes[controllerFamilyID].flatMap { NetlinkAttributes.u16($0, $0.startIndex) }.map(Int.init)
    }

    /// `WG_CMD_GET_DEVICE` (a dump) for the device called `name`.
    static func getDevice(family: Int, sequence: UInt32, name: String) -> NetlinkMessage {
        var message = NetlinkMessage(type: family, flags: Int32(NLM_F_REQUEST) | Int32(NLM_F_ACK) | Int32(NLM_F_DUMP), sequence: sequence)
        appendGenericHeader(&message, command: Command.getDevice.rawValue, version: version)
        message.attribute(Device.ifname.rawValue, string: name)
        return message
    }

    /// `WG_CMD_SET_DEVICE`: the settings given, then each removal and each peer set whole
    /// (allowed IPs replaced), as `WireGuardUAPI.setRequest` says it to wireguard-go.
    static func setDevice(family: Int, sequence: UInt32, name: String, privateKey: WireGuardSecret?, listenPort: Int?,
                          replacePeers: Bool = false, plan: WireGuardPeerPlan) -> NetlinkMessage {
        var message = NetlinkMessage(type: family, flags: Int32(NLM_F_REQUEST) | Int32(NLM_F_ACK), sequence: sequence)
        appendGenericHeader(&message, command: Command.setDevice.rawValue, version: version)
        message.attribute(Device.ifname.rawValue, string: name)
        if let privateKey { message.attribute(Device.privateKey.rawValue, privateKey.key.bytes) }
        if let listenPort { message.attribute(Device.listenPort.rawValue, u16: UInt16(listenPort)) }
        if replacePeers { message.attribute(Device.flags.rawValue, u32: replacePeersFlag) }
        guard !plan.isEmpty else { return message }
        message.beginNested(Device.peers.rawValue | nested)
        var index = 0
        for key in plan.removals {
            message.beginNested(index | nested)
            message.attribute(PeerAttribute.publicKey.rawValue, key.bytes)
            message.attribute(PeerAttribute.flags.rawValue, u32: removeMeFlag)
            message.endNested()
            index += 1
        }
        for peer in plan.updates {
            message.beginNested(index | nested)
            message.attribute(PeerAttribute.publicKey.rawValue, peer.publicKey.bytes)
            message.attribute(PeerAttribute.presharedKey.rawValue, peer.presharedKey?.key.bytes ?? [UInt8](repeating: 0, count: 32))
            message.attribute(PeerAttribute.flags.rawValue, u32: replaceAllowedIPsFlag)
            if let endpoint = sockaddr(peer.endpoint) { message.attribute(PeerAttribute.endpoint.rawValue, endpoint) }
            message.attribute(PeerAttribute.persistentKeepaliveInterval.rawValue, u16: UInt16(clamping: peer.persistentKeepalive))
            message.beginNested(PeerAttribute.allowedIPs.rawValue | nested)
            for (position, allowed) in peer.allowedIPs.enumerated() {
                message.beginNested(position | nested)
                if let network = IPv4Network(allowed) {
                    message.attribute(AllowedIP.family.rawValue, u16: UInt16(AF_INET))
                    message.attribute(AllowedIP.ipAddress.rawValue, address: network.address)
                    message.attribute(AllowedIP.cidrMask.rawValue, u8: UInt8(network.prefixLength))
                } else if let network = IPv6Network(allowed) {
                    message.attribute(AllowedIP.family.rawValue, u16: UInt16(AF_INET6))
                    message.attribute(AllowedIP.ipAddress.rawValue, address: network.address)
                    message.attribute(AllowedIP.cidrMask.rawValue, u8: UInt8(network.prefixLength))
                }
                message.endNested()
            }
            message.endNested()
            message.endNested()
            index += 1
        }
        message.endNested()
        return message
    }

    /// `struct sockaddr_in` for `a.b.c.d:port` (family in host order, port in network order,
    /// the address, eight zero bytes), `struct sockaddr_in6` for `[v6]:port` (family, port,
    /// flow info 0, the address, scope 0).
    static func sockaddr(_ endpoint: String) -> [UInt8]? {
        guard let colon = endpoint.lastIndex(of: ":"), let port = UInt16(endpoint[endpoint.index(after: colon)...]) else { return nil }
        let host = endpoint[..<colon]
        let portBytes = [UInt8(port >> 8), UInt8(port & 0xff)]
        if let address = IPv4Address(String(host)) {
            return withUnsafeBytes(of: UInt16(AF_INET).littleEndian) { Array($0) } + portBytes + address.netlinkBytes + [UInt8](repeating: 0, count: 8)
        }
        guard host.hasPrefix("["), host.hasSuffix("]"), let address = IPv6Address(String(host.dropFirst().dropLast())) else { return nil }
        return withUnsafeBytes(of: UInt16(AF_INET6).littleEndian) { Array($0) } + portBytes + [0, 0, 0, 0] + address.netlinkBytes + [0, 0, 0, 0]
    }

    /// The device in `WG_CMD_GET_DEVICE` answers (one device may span several messages, each
    /// with some of its peers).
    static func parseDevice(_ payloads: [ArraySlice<UInt8>]) -> WireGuardDeviceState {
        var state = WireGuardDeviceState()
        for payload in payloads where payload.count >= 4 {
            let attributes = NetlinkAttributes(payload.dropFirst(4))
            if let key = attributes[Device.privateKey.rawValue].flatMap({ WireGuardKey(bytes: Array($0)) }), !key.isZero {
                state.privateKey = WireGuardSecret(key)
            }
            if let port = attributes[Device.listenPort.rawValue].flatMap({ NetlinkAttributes.u16($0, $0.startIndex) }) {
                state.listenPort = Int(port)
            }
            for element in attributes[Device.peers.rawValue].map(NetlinkAttributes.list) ?? [] {
                let peer = NetlinkAttributes(element)
                guard let key = peer[PeerAttribute.publicKey.rawValue].flatMap({ WireGuardKey(bytes: Array($0)) }) else { continue }
                var entry = WireGuardDeviceState.Peer(publicKey: key)
                if let psk = peer[PeerAttribute.presharedKey.rawValue].flatMap({ WireGuardKey(bytes: Array($0)) }), !psk.isZero {
                    entry.presharedKey = WireGuardSecret(psk)
                }
                if let endpoint = peer[PeerAttribute.endpoint.rawValue], endpoint.count >= 8 {
                    let family = NetlinkAttributes.u16(endpoint, endpoint.startIndex)
                    let port = UInt16(endpoint[endpoint.startIndex + 2]) << 8 | UInt16(endpoint[endpoint.startIndex + 3])
                    if family == UInt16(AF_INET), let address = IPv4Address(netlinkBytes: endpoint.dropFirst(4).prefix(4)) {
                        entry.endpoint = "\(address):\(port)"
                    } else if family == UInt16(AF_INET6), let address = IPv6Address(netlinkBytes: endpoint.dropFirst(8).prefix(16)) {
                        entry.endpoint = "[\(address)]:\(port)"
                    }
                }
                entry.persistentKeepalive = peer[PeerAttribute.persistentKeepaliveInterval.rawValue]
                    .flatMap { NetlinkAttributes.u16($0, $0.startIndex) }.map(Int.init) ?? 0
                for allowed in peer[PeerAttribute.allowedIPs.rawValue].map(NetlinkAttributes.list) ?? [] {
                    let fields = NetlinkAttributes(allowed)
                    guard let mask = fields.u8(AllowedIP.cidrMask.rawValue) else { continue }
                    if let address = fields.address(AllowedIP.ipAddress.rawValue, as: IPv4Address.self), mask <= 32 {
                        entry.allowedIPs.append("\(IPv4Network(address: address, prefixLength: Int(mask)))")
                    } else if let address = fields.address(AllowedIP.ipAddress.rawValue, as: IPv6Address.self), mask <= 128 {
                        entry.allowedIPs.append("\(IPv6Network(address: address, prefixLength: Int(mask)))")
                    }
                }
                // A peer continued from the previous message has the same key: merge.
                if let index = state.peers.firstIndex(where: { $0.publicKey == key }) {
                    state.peers[index].allowedIPs += entry.allowedIPs
                } else {
                    state.peers.append(entry)
                }
            }
        }
        return state
    }

    private static func appendGenericHeader(_ message: inout NetlinkMessage, command: UInt8, version: UInt8) {
        message.append(command)
        message.append(version)
        message.append(UInt16(0))
    }
}
