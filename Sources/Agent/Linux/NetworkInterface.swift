import CLinuxShims
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// A host interface with its first IPv4 address, as the agent chooses its public side.
public struct NetworkInterface: Equatable, Sendable, CustomStringConvertible {
    public var name: String
    /// 0.0.0.0 for an interface with global IPv6 addresses only (as upstream writes such a
    /// host's PublicIP): usable on an IPv6-only network alone.
    public var address: IPv4Address
    public var mtu: Int

    public var hasIPv4: Bool { address != .any }

    public var description: String { "\(name) (\(hasIPv4 ? "\(address)" : "no IPv4 address"), MTU \(mtu))" }

    /// Interfaces that are up, one entry per IPv4 address, in kernel order; then those with
    /// global IPv6 addresses and no IPv4 one (an IPv6-only host), one entry each.
    public static func all() -> [NetworkInterface] {
        let ipv4 = addresses(family: AF_INET) { entry, socketAddress -> NetworkInterface? in
            guard entry.ifa_flags & UInt32(IFF_UP) != 0 else { return nil }
            let name = String(cString: entry.ifa_name)
            // Every address counts (secondary addresses too): `--iface=<address>` may name any.
            let address = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                IPv4Address(bits: UInt32(bigEndian: $0.pointee.sin_addr.s_addr))
            }
            return NetworkInterface(name: name, address: address, mtu: max(Int(flannel_if_get_mtu(name)), 0))
        }
        let named = Set(ipv4.map(\.name))
        var ipv6Only: [NetworkInterface] = []
        for name in addresses(family: AF_INET6, { entry, socketAddress -> String? in
            guard entry.ifa_flags & UInt32(IFF_UP) != 0, isGlobalUnicast(socketAddress) else { return nil }
            return String(cString: entry.ifa_name)
        }) where !named.contains(name) && !ipv6Only.contains(where: { $0.name == name }) {
            ipv6Only.append(NetworkInterface(name: name, address: .any, mtu: max(Int(flannel_if_get_mtu(name)), 0)))
        }
        return ipv4 + ipv6Only
    }

    private static func ipv6Address(_ socketAddress: UnsafeMutablePointer<sockaddr>) -> IPv6Address {
        socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
            withUnsafeBytes(of: pointer.pointee.sin6_addr) { bytes in
                IPv6Address(bits: bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) })
            }
        }
    }

    private static func isGlobalUnicast(_ socketAddress: UnsafeMutablePointer<sockaddr>) -> Bool {
        ipv6Address(socketAddress).isGlobalUnicast
    }

    /// The global IPv6 addresses of interface `name` (no link-local, loopback or multicast),
    /// in kernel order: the first is vxlan's local IPv6 endpoint and, without
    /// `--public-ipv6`, our lease's `PublicIPv6`.
    public static func globalIPv6Addresses(of name: String) -> [IPv6Address] {
        addresses(family: AF_INET6) { entry, socketAddress in
            guard String(cString: entry.ifa_name) == name else { return nil }
            let address = ipv6Address(socketAddress)
            return address.isGlobalUnicast ? address : nil
        }
    }

    /// Every `getifaddrs` entry of one address family, mapped while the list is alive.
    private static func addresses<T>(family: Int32, _ transform: (ifaddrs, UnsafeMutablePointer<sockaddr>) -> T?) -> [T] {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0 else { return [] }
        defer { freeifaddrs(head) }
        var result: [T] = []
        var cursor = head
        while let entry = cursor?.pointee {
            defer { cursor = entry.ifa_next }
            guard let socketAddress = entry.ifa_addr, socketAddress.pointee.sa_family == sa_family_t(family),
                  let value = transform(entry, socketAddress) else { continue }
            result.append(value)
        }
        return result
    }

    /// The interface of the IPv4 default route (from /proc/net/route), else of the IPv6 one
    /// (from /proc/net/ipv6_route: an IPv6-only host), if any.
    public static func defaultRouteInterfaceName() -> String? {
        if let table = try? String(contentsOfFile: "/proc/net/route", encoding: .utf8) {
            for line in table.split(separator: "\n").dropFirst() {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                if fields.count > 7, fields[1] == "00000000", fields[7] == "00000000" { return String(fields[0]) }
            }
        }
        guard let table = try? String(contentsOfFile: "/proc/net/ipv6_route", encoding: .utf8) else { return nil }
        // destination, prefix length, source, source length, next hop, metric, refs, use, flags, device
        let zero = String(repeating: "0", count: 32)
        for line in table.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count > 9, fields[0] == zero, fields[1] == "00", fields[9] != "lo" { return String(fields[9]) }
        }
        return nil
    }

    /// The local address the kernel would use to reach `destination` (a connected UDP
    /// socket sends nothing).
    public static func sourceAddress(toward destination: IPv4Address) -> IPv4Address? {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = UInt16(9).bigEndian
        remote.sin_addr.s_addr = destination.bits.bigEndian
        let connected = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        return IPv4Address(bits: UInt32(bigEndian: local.sin_addr.s_addr))
    }
}
