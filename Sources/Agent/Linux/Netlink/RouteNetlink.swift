import CLinuxShims
#if canImport(Glibc)
import Glibc
#endif

/// The rtnetlink operations the kernel backends need: links (vxlan create, up, MTU, delete,
/// dump), IPv4 addresses, main-table routes, permanent neighbours and vxlan forwarding
/// entries. Every error names the object it was about.
public struct RouteNetlink: Sendable {
    let socket: NetlinkSocket

    /// Talks to our own namespace's kernel tables, or to the namespace at `namespacePath`
    /// (tools and tests inspecting a lab host).
    public init(namespacePath: String? = nil) throws(SystemError) {
        socket = try NetlinkSocket(namespacePath: namespacePath)
    }

    static let request = Int32(NLM_F_REQUEST) | Int32(NLM_F_ACK)
    static let create = Int32(NLM_F_CREATE)
    static let replace = Int32(NLM_F_REPLACE)
    static let exclusive = Int32(NLM_F_EXCL)
    static let dumpRequest = Int32(NLM_F_REQUEST) | Int32(NLM_F_DUMP)

    // MARK: Links

    /// Every device, in index order.
    public func links() throws(NetlinkError) -> [KernelLink] {
        let messages = try socket.dump({ sequence in
            var message = NetlinkMessage(type: Int(RTM_GETLINK), flags: Self.dumpRequest, sequence: sequence)
            Self.appendLinkHeader(&message, index: 0)
            return message
        }, operation: "list links")
        return messages.compactMap { message in
            message.type == Int(RTM_NEWLINK) ? Self.parseLink(message.payload) : nil
        }.sorted { $0.index < $1.index }
    }

    public func link(named name: String) throws(NetlinkError) -> KernelLink? {
        try links().first { $0.name == name }
    }

    /// `ip link add <name> address <mac> mtu <mtu> type vxlan id <vni> local <local> dev
    /// <underlay> dstport <port> nolearning`.
    public func createVXLAN(name: String, vni: Int, local: some NetlinkAddress, underlayIndex: Int, port: Int,
                            mac: MACAddress, mtu: Int) throws(NetlinkError) {
        try socket.request({ sequence in
            var message = NetlinkMessage(type: Int(RTM_NEWLINK), flags: Self.request | Self.create | Self.exclusive, sequence: sequence)
            Self.appendLinkHeader(&message, index: 0)
            message.attribute(Int(IFLA_IFNAME), string: name)
            message.attribute(Int(IFLA_ADDRESS), mac.bytes)
            message.attribute(Int(IFLA_MTU), u32: UInt32(mtu))
            message.beginNested(Int(IFLA_LINKINFO))
            message.attribute(Int(IFLA_INFO_KIND), string: "vxlan")
            message.beginNested(Int(IFLA_INFO_DATA))
            message.attribute(Int(IFLA_VXLAN_ID), u32: UInt32(vni))
            message.attribute(Int(IFLA_VXLAN_LINK), u32: UInt32(underlayIndex))
            // IFLA_VXLAN_LOCAL6 for an IPv6 underlay (the dual-stack device flannel-v6.<VNI>).
            let localAttribute = type(of: local).netlinkFamily == UInt8(AF_INET6) ? Int(IFLA_VXLAN_LOCAL6) : Int(IFLA_VXLAN_LOCAL)
            message.attribute(localAttribute, address: local)
            message.attribute(Int(IFLA_VXLAN_PORT), be16: UInt16(port))
            message.attribute(Int(IFLA_VXLAN_LEARNING), u8: 0)
            message.endNested()
            message.endNested()
            return message
        }, operation: "create vxlan device \(name) (id \(vni), local \(local), dstport \(port), address \(mac))")
    }

    /// `ip link add <name> mtu <mtu> type <kind>`: a device with no settings of its kind
    /// (`wireguard`, configured over generic netlink afterwards).
    public func createLink(name: String, kind: String, mtu: Int) throws(NetlinkError) {
        try socket.request({ sequence in
            var message = NetlinkMessage(type: Int(RTM_NEWLINK), flags: Self.request | Self.create | Self.exclusive, sequence: sequence)
            Self.appendLinkHeader(&message, index: 0)
            message.attribute(Int(IFLA_IFNAME), string: name)
            message.attribute(Int(IFLA_MTU), u32: UInt32(mtu))
            message.beginNested(Int(IFLA_LINKINFO))
            message.attribute(Int(IFLA_INFO_KIND), string: kind)
            message.endNested()
            return message
        }, operation: "create \(kind) device \(name)")
    }

    /// `ip link set <device> up`.
    public func setUp(_ device: KernelDevice) throws(NetlinkError) {
        try socket.request({ sequence in
            var message = NetlinkMessage(type: Int(RTM_NEWLINK), flags: Self.request, sequence: sequence)
            Self.appendLinkHeader(&message, index: device.index, flags: UInt32(IFF_UP), change: UInt32(IFF_UP))
            return message
        }, operation: "set \(device.name) up")
    }

    /// `ip link set <device> mtu <mtu>`.
    public func setMTU(_ device: KernelDevice, _ mtu: Int) throws(NetlinkError) {
        try socket.request({ sequence in
            var message = NetlinkMessage(type: Int(RTM_NEWLINK), flags: Self.request, sequence: sequence)
            Self.appendLinkHeader(&message, index: device.index)
            message.attribute(Int(IFLA_MTU), u32: UInt32(mtu))
            return message
        }, operation: "set \(device.name) mtu \(mtu)")
    }

    /// `ip link set <device> address <mac>`.
    public func setMAC(_ device: KernelDevice, _ mac: MACAddress) throws(NetlinkError) {
        try socket.request({ sequence in
            var message = NetlinkMessage(type: Int(RTM_NEWLINK), flags: Self.request, sequence: sequence)
            Self.appendLinkHeader(&message, index: device.index)
            message.attribute(Int(IFLA_ADDRESS), mac.bytes)
            return message
        }, operation: "set \(device.name) address \(mac)")
    }

    /// `ip link del <device>`.
    public func deleteLink(_ device: KernelDevice) throws(NetlinkError) {
        try socket.request({ sequence in
            var message = NetlinkMessage(type: Int(RTM_DELLINK), flags: Self.request, sequence: sequence)
            Self.appendLinkHeader(&message, index: device.index)
            return message
        }, operation: "delete device \(device.name)")
    }

    private static func appendLinkHeader(_ message: inout NetlinkMessage, index: Int, flags: UInt32 = 0, change: UInt32 = 0) {
        message.append(UInt8(AF_UNSPEC))
        message.append(UInt8(0))
        message.append(UInt16(0))  // type
        message.append(Int32(index))
        message.append(flags)
        message.append(change)
    }

    static func parseLink(_ payload: ArraySlice<UInt8>) -> KernelLink? {
        guard payload.count >= 16,
              let index = NetlinkAttributes.u32(payload, payload.startIndex + 4),
              let flags = NetlinkAttributes.u32(payload, payload.startIndex + 8) else { return nil }
        let attributes = NetlinkAttributes(payload.dropFirst(16))
        guard let name = attributes.string(Int(IFLA_IFNAME)) else { return nil }
        let info = attributes.nested(Int(IFLA_LINKINFO))
        let kind = info?.string(Int(IFLA_INFO_KIND))
        var vxlan: KernelLink.VXLAN?
        if kind == "vxlan", let data = info?.nested(Int(IFLA_INFO_DATA)) {
            vxlan = KernelLink.VXLAN(
                vni: Int(data.u32(Int(IFLA_VXLAN_ID)) ?? 0),
                local: data.ipv4(Int(IFLA_VXLAN_LOCAL)),
                localIPv6: data.address(Int(IFLA_VXLAN_LOCAL6), as: IPv6Address.self),
                port: Int(data.be16(Int(IFLA_VXLAN_PORT)) ?? 0),
                underlayIndex: data.u32(Int(IFLA_VXLAN_LINK)).map(Int.init),
                learning: (data.u8(Int(IFLA_VXLAN_LEARNING)) ?? 0) != 0)
        }
        return KernelLink(device: KernelDevice(index: Int(index), name: name),
                          mtu: Int(attributes.u32(Int(IFLA_MTU)) ?? 0),
                          isUp: flags & UInt32(IFF_UP) != 0,
                          mac: attributes.mac(Int(IFLA_ADDRESS)), kind: kind, vxlan: vxlan)
    }

    // MARK: Addresses

    /// The IPv4 addresses on a device, each with its prefix length (host bits kept).
    public func addresses(on device: KernelDevice) throws(NetlinkError) -> [InterfaceAddress<IPv4Address>] {
        try addresses(on: device, family: IPv4Address.self)
    }

    /// The device's addresses of one family (`ip -4/-6 addr show dev <device>`).
    public func addresses<Address: NetlinkAddress>(on device: KernelDevice, family: Address.Type) throws(NetlinkError) -> [InterfaceAddress<Address>] {
        let messages = try socket.dump({ sequence in
            var message = NetlinkMessage(type: Int(RTM_GETADDR), flags: Self.dumpRequest, sequence: sequence)
            Self.appendAddressHeader(&message, family: Address.netlinkFamily, prefixLength: 0, index: 0)
            return message
        }, operation: "list addresses")
        return messages.compactMap { message -> InterfaceAddress<Address>? in
            let payload = message.payload
            guard message.type == Int(RTM_NEWADDR), payload.count >= 8,
                  payload[payload.startIndex] == Address.netlinkFamily,
                  Int(NetlinkAttributes.u32(payload, payload.startIndex + 4) ?? 0) == device.index else { return nil }
            let attributes = NetlinkAttributes(payload.dropFirst(8))
            guard let address = attributes.address(Int(IFA_LOCAL), as: Address.self) ?? attributes.address(Int(IFA_ADDRESS), as: Address.self)
            else { return nil }
            return InterfaceAddress(address: address, prefixLength: Int(payload[payload.startIndex + 1]))
        }
    }

    /// `ip addr replace <address>/<len> dev <device>` (IPv6: `nodad`, so that it is usable at once).
    public func replaceAddress<Address: NetlinkAddress>(_ address: InterfaceAddress<Address>, on device: KernelDevice) throws(NetlinkError) {
        try socket.request({ sequence in
            var message = NetlinkMessage(type: Int(RTM_NEWADDR), flags: Self.request | Self.create | Self.replace, sequence: sequence)
            let flags = Address.netlinkFamily == UInt8(AF_INET6) ? UInt8(IFA_F_NODAD) : 0
            Self.appendAddressHeader(&message, family: Address.netlinkFamily, prefixLength: address.prefixLength, index: device.index, flags: flags)
            message.attribute(Int(IFA_LOCAL), address: address.address)
            message.attribute(Int(IFA_ADDRESS), address: address.address)
            return message
        }, operation: "add address \(address) to \(device.name)")
    }

    /// `ip addr del <address>/<len> dev <device>`.
    public func deleteAddress<Address: NetlinkAddress>(_ address: InterfaceAddress<Address>, on device: KernelDevice) throws(NetlinkError) {
        try socket.request({ sequence in
            var message = NetlinkMessage(type: Int(RTM_DELADDR), flags: Self.request, sequence: sequence)
            Self.appendAddressHeader(&message, family: Address.netlinkFamily, prefixLength: address.prefixLength, index: device.index)
            message.attribute(Int(IFA_LOCAL), address: address.address)
            return message
        }, operation: "delete address \(address) from \(device.name)")
    }

    private static func appendAddressHeader(_ message: inout NetlinkMessage, family: UInt8, prefixLength: Int, index: Int, flags: UInt8 = 0) {
        message.append(family)
        message.append(UInt8(prefixLength))
        message.append(flags)
        message.append(UInt8(RT_SCOPE_UNIVERSE.rawValue))
        message.append(UInt32(index))
    }

    // MARK: Routes

    /// Unicast IPv4 routes of the main table, devices named from `links`.
    public func routes(devices: [KernelDevice]) throws(NetlinkError) -> [KernelRoute<IPv4Address>] {
        try routes(devices: devices, family: IPv4Address.self)
    }

    /// Unicast routes of one family in the main table, devices named from `links`.
    public func routes<Address: NetlinkAddress>(devices: [KernelDevice], family: Address.Type) throws(NetlinkError) -> [KernelRoute<Address>] {
        let byIndex = Dictionary(devices.map { ($0.index, $0) }, uniquingKeysWith: { first, _ in first })
        let messages = try socket.dump({ sequence in
            var message = NetlinkMessage(type: Int(RTM_GETROUTE), flags: Self.dumpRequest, sequence: sequence)
            Self.appendRouteHeader(&message, family: Address.netlinkFamily, prefixLength: 0, table: 0, protocol: 0, scope: 0, type: 0, flags: 0)
            return message
        }, operation: "list routes")
        return messages.compactMap { message -> KernelRoute<Address>? in
            let payload = message.payload
            guard message.type == Int(RTM_NEWROUTE), payload.count >= 12 else { return nil }
            let start = payload.startIndex
            guard payload[start] == Address.netlinkFamily, payload[start + 7] == UInt8(RTN_UNICAST) else { return nil }
            let attributes = NetlinkAttributes(payload.dropFirst(12))
            let table = attributes.u32(Int(RTA_TABLE.rawValue)) ?? UInt32(payload[start + 4])
            guard table == UInt32(RT_TABLE_MAIN.rawValue), let oif = attributes.u32(Int(RTA_OIF.rawValue)) else { return nil }
            let flags = NetlinkAttributes.u32(payload, start + 8) ?? 0
            let destination = IPNetwork(address: attributes.address(Int(RTA_DST.rawValue), as: Address.self) ?? Address(bits: 0),
                                        prefixLength: Int(payload[start + 1]))
            return KernelRoute(destination: destination, gateway: attributes.address(Int(RTA_GATEWAY.rawValue), as: Address.self),
                               device: byIndex[Int(oif)] ?? KernelDevice(index: Int(oif), name: "if\(oif)"),
                               onlink: flags & UInt32(RTNH_F_ONLINK) != 0, protocolNumber: payload[start + 5])
        }
    }

    /// `ip route replace <destination> [via <gateway>] dev <device> [onlink]`.
    public func replaceRoute<Address: NetlinkAddress>(_ route: KernelRoute<Address>) throws(NetlinkError) {
        try socket.request({ sequence in
            var message = NetlinkMessage(type: Int(RTM_NEWROUTE), flags: Self.request | Self.create | Self.replace, sequence: sequence)
            Self.appendRouteHeader(&message, family: Address.netlinkFamily, prefixLength: route.destination.prefixLength,
                                   table: UInt8(RT_TABLE_MAIN.rawValue), protocol: route.protocolNumber,
                                   scope: UInt8((route.gateway == nil ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE).rawValue),
                                   type: UInt8(RTN_UNICAST), flags: route.onlink ? UInt32(RTNH_F_ONLINK) : 0)
            message.attribute(Int(RTA_DST.rawValue), address: route.destination.address)
            if let gateway = route.gateway { message.attribute(Int(RTA_GATEWAY.rawValue), address: gateway) }
            message.attribute(Int(RTA_OIF.rawValue), u32: UInt32(route.device.index))
            return message
        }, operation: "add route \(route)")
    }

    /// `ip route del <destination> [via <gateway>] dev <device>`.
    public func deleteRoute<Address: NetlinkAddress>(_ route: KernelRoute<Address>) throws(NetlinkError) {
        try socket.request({ sequence in
            var message = NetlinkMessage(type: Int(RTM_DELROUTE), flags: Self.request, sequence: sequence)
            Self.appendRouteHeader(&message, family: Address.netlinkFamily, prefixLength: route.destination.prefixLength,
                                   table: UInt8(RT_TABLE_MAIN.rawValue), protocol: 0, scope: UInt8(RT_SCOPE_NOWHERE.rawValue), type: 0, flags: 0)
            message.attribute(Int(RTA_DST.rawValue), address: route.destination.address)
            if let gateway = route.gateway { message.attribute(Int(RTA_GATEWAY.rawValue), address: gateway) }
            message.attribute(Int(RTA_OIF.rawValue), u32: UInt32(route.device.index))
            return message
        }, operation: "delete route \(route)")
    }

    private static func appendRouteHeader(_ message: inout NetlinkMessage, family: UInt8, prefixLength: Int, table: UInt8, protocol: UInt8,
                                          scope: UInt8, type: UInt8, flags: UInt32) {
        message.append(family)
        message.append(UInt8(prefixLength))
        message.append(UInt8(0))  // source length
        message.append(UInt8(0))  // tos
        message.append(table)
        message.append(`protocol`)
        message.append(scope)
        message.append(type)
        message.append(flags)
    }

    // MARK: Neighbours and forwarding entries

    /// Permanent IPv4 neighbours on `device`.
    public func neighbours(on device: KernelDevice) throws(NetlinkError) -> [KernelNeighbour<IPv4Address>] {
        try neighbours(on: device, family: IPv4Address.self)
    }

    /// Permanent neighbours of one family (ARP, NDP) on `device`.
    public func neighbours<Address: NetlinkAddress>(on device: KernelDevice, family: Address.Type) throws(NetlinkError) -> [KernelNeighbour<Address>] {
        try neighbourDump(family: Address.netlinkFamily, device: device).compactMap { entry in
            guard entry.state & UInt16(NUD_PERMANENT) != 0, let address = entry.attributes.address(Int(NDA_DST), as: Address.self),
                  let mac = entry.attributes.mac(Int(NDA_LLADDR)) else { return nil }
            return KernelNeighbour(device: device, address: address, mac: mac)
        }
    }

    /// The vxlan device's forwarding entries that point at an IPv4 destination.
    public func forwardingEntries(on device: KernelDevice) throws(NetlinkError) -> [KernelFDBEntry<IPv4Address>] {
        try forwardingEntries(on: device, family: IPv4Address.self)
    }

    /// The vxlan device's forwarding entries that point at a destination of one family.
    public func forwardingEntries<Address: NetlinkAddress>(on device: KernelDevice, family: Address.Type) throws(NetlinkError) -> [KernelFDBEntry<Address>] {
        try neighbourDump(family: UInt8(AF_BRIDGE), device: device).compactMap { entry in
            guard let mac = entry.attributes.mac(Int(NDA_LLADDR)), let destination = entry.attributes.address(Int(NDA_DST), as: Address.self)
            else { return nil }
            return KernelFDBEntry(device: device, mac: mac, destination: destination)
        }
    }

    /// `ip neigh replace <address> lladdr <mac> dev <device> nud permanent`.
    public func replaceNeighbour<Address: NetlinkAddress>(_ entry: KernelNeighbour<Address>) throws(NetlinkError) {
        try socket.request({ sequence in
            var message = NetlinkMessage(type: Int(RTM_NEWNEIGH), flags: Self.request | Self.create | Self.replace, sequence: sequence)
            Self.appendNeighbourHeader(&message, family: Address.netlinkFamily, index: entry.device.index, state: UInt16(NUD_PERMANENT), flags: 0)
            message.attribute(Int(NDA_DST), address: entry.address)
            message.attribute(Int(NDA_LLADDR), entry.mac.bytes)
            return message
        }, operation: "add \(entry)")
    }

    public func deleteNeighbour<Address: NetlinkAddress>(_ entry: KernelNeighbour<Address>) throws(NetlinkError) {
        try socket.request({ sequence in
            var message = NetlinkMessage(type: Int(RTM_DELNEIGH), flags: Self.request, sequence: sequence)
            Self.appendNeighbourHeader(&message, family: Address.netlinkFamily, index: entry.device.index, state: 0, flags: 0)
            message.attribute(Int(NDA_DST), address: entry.address)
            return message
        }, operation: "delete \(entry)")
    }

    /// `bridge fdb replace <mac> dev <device> dst <destination> self permanent`: a unicast
    /// MAC has one destination, and replace moves it (append would leave it unchanged).
    public func replaceForwardingEntry<Address: NetlinkAddress>(_ entry: KernelFDBEntry<Address>) throws(NetlinkError) {
        try socket.request({ sequence in
            var message = NetlinkMessage(type: Int(RTM_NEWNEIGH), flags: Self.request | Self.create | Self.replace, sequence: sequence)
            Self.appendNeighbourHeader(&message, family: UInt8(AF_BRIDGE), index: entry.device.index,
                                       state: UInt16(NUD_PERMANENT), flags: UInt8(NTF_SELF))
            message.attribute(Int(NDA_LLADDR), entry.mac.bytes)
            message.attribute(Int(NDA_DST), address: entry.destination)
            return message
        }, operation: "add \(entry)")
    }

    /// `bridge fdb del <mac> dev <device> dst <destination> self`.
    public func deleteForwardingEntry<Address: NetlinkAddress>(_ entry: KernelFDBEntry<Address>) throws(NetlinkError) {
        try socket.request({ sequence in
            var message = NetlinkMessage(type: Int(RTM_DELNEIGH), flags: Self.request, sequence: sequence)
            Self.appendNeighbourHeader(&message, family: UInt8(AF_BRIDGE), index: entry.device.index, state: 0, flags: UInt8(NTF_SELF))
            message.attribute(Int(NDA_LLADDR), entry.mac.bytes)
            message.attribute(Int(NDA_DST), address: entry.destination)
            return message
        }, operation: "delete \(entry)")
    }

    private struct NeighbourEntry {
        var state: UInt16
        var attributes: NetlinkAttributes
    }

    private func neighbourDump(family: UInt8, device: KernelDevice) throws(NetlinkError) -> [NeighbourEntry] {
        let messages = try socket.dump({ sequence in
            var message = NetlinkMessage(type: Int(RTM_GETNEIGH), flags: Self.dumpRequest, sequence: sequence)
            Self.appendNeighbourHeader(&message, family: family, index: 0, state: 0, flags: 0)
            return message
        }, operation: family == UInt8(AF_BRIDGE) ? "list forwarding entries of \(device.name)" : "list neighbours of \(device.name)")
        return messages.compactMap { message in
            let payload = message.payload
            guard message.type == Int(RTM_NEWNEIGH), payload.count >= 12, payload[payload.startIndex] == family,
                  Int(NetlinkAttributes.u32(payload, payload.startIndex + 4) ?? 0) == device.index else { return nil }
            return NeighbourEntry(state: NetlinkAttributes.u16(payload, payload.startIndex + 8) ?? 0,
                                  attributes: NetlinkAttributes(payload.dropFirst(12)))
        }
    }

    private static func appendNeighbourHeader(_ message: inout NetlinkMessage, family: UInt8, index: Int, state: UInt16, flags: UInt8) {
        message.append(family)
        message.append(UInt8(0))
        message.append(UInt16(0))
        message.append(Int32(index))
        message.append(state)
        message.append(flags)
        message.append(UInt8(0))  // type
    }

    // MARK: Kernel backends

    /// Applies one reconciliation step.
    public func apply<Address: NetlinkAddress>(_ step: KernelStep<Address>) throws(NetlinkError) {
        switch step {
        case let .replaceNeighbour(entry): try replaceNeighbour(entry)
        case let .deleteNeighbour(entry): try deleteNeighbour(entry)
        case let .replaceFDB(entry): try replaceForwardingEntry(entry)
        case let .deleteFDB(entry): try deleteForwardingEntry(entry)
        case let .replaceRoute(route): try replaceRoute(route)
        case let .deleteRoute(route): try deleteRoute(route)
        }
    }
}
