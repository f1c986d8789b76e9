import Agent
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The bench's baseline: upstream flannel's udp proxy design, as plainly as it was written
/// (proxy.c): one thread, non-blocking TUN and UDP socket, `poll` on both, then drain each
/// with one `read`/`sendto` or `recvfrom`/`write` per packet; a linear route table; the TTL
/// decremented with an incremental checksum fix; default socket buffers and queue lengths.
/// Same wire format as flanneld (one bare inner IPv4 packet per datagram), so either end can
/// be the other.
public struct PlainUDPLoop {
    public struct Route: Sendable {
        public var subnet: IPv4Network
        public var peer: IPv4Address
        public init(subnet: IPv4Network, peer: IPv4Address) {
            self.subnet = subnet
            self.peer = peer
        }
    }

    public var tunName = "flannel0"
    public var address: IPv4Address
    public var network: IPv4Network
    public var mtu: Int
    public var listen: IPv4Address
    public var port = 8285
    public var routes: [Route]

    public init(address: IPv4Address, network: IPv4Network, mtu: Int, listen: IPv4Address, routes: [Route]) {
        self.address = address
        self.network = network
        self.mtu = mtu
        self.listen = listen
        self.routes = routes
    }

    /// Sets up the TUN and the socket, then forwards until the process is killed.
    public func run() throws -> Never {
        let tun = try TUNDevice(name: tunName)
        try tun.configure(address: address, mtu: mtu, network: network)
        let sock = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard sock >= 0 else { throw SystemError(call: "socket", object: "udp \(listen):\(port)", errno: errno) }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_port = UInt16(port).bigEndian
        local.sin_addr.s_addr = listen.bits.bigEndian
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw SystemError(call: "bind", object: "udp \(listen):\(port)", errno: errno) }
        for fd in [tun.fd, sock] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }

        let table = routes.map { (network: $0.subnet.address.bits, mask: Self.mask($0.subnet.prefixLength), peer: $0.peer.bits) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 65_536, alignment: 8)
        var descriptors = [pollfd(fd: tun.fd, events: Int16(POLLIN), revents: 0), pollfd(fd: sock, events: Int16(POLLIN), revents: 0)]
        while true {
            _ = poll(&descriptors, 2, -1)
            var active = true
            while active {
                active = false
                // TUN → UDP
                let length = read(tun.fd, buffer, mtu)
                if length >= 20 {
                    active = true
                    let bytes = buffer.assumingMemoryBound(to: UInt8.self)
                    let destination = UInt32(bytes[16]) << 24 | UInt32(bytes[17]) << 16 | UInt32(bytes[18]) << 8 | UInt32(bytes[19])
                    if bytes[8] > 1, let route = table.first(where: { destination & $0.mask == $0.network }) {
                        bytes[8] -= 1
                        // RFC 1141: TTL is the high byte of its 16-bit word; the checksum goes up by 0x0100.
                        var sum = (UInt32(bytes[10]) << 8 | UInt32(bytes[11])) + 0x0100
                        sum = (sum & 0xFFFF) + (sum >> 16)
                        bytes[10] = UInt8(sum >> 8)
                        bytes[11] = UInt8(sum & 0xFF)
                        var peer = sockaddr_in()
                        peer.sin_family = sa_family_t(AF_INET)
                        peer.sin_port = UInt16(port).bigEndian
                        peer.sin_addr.s_addr = route.peer.bigEndian
                        _ = withUnsafePointer(to: &peer) {
                            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                                sendto(sock, buffer, length, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                            }
                        }
                    }
                }
                // UDP → TUN
                let received = recv(sock, buffer, 65_536, 0)
                if received > 0 {
                    active = true
                    _ = write(tun.fd, buffer, received)
                }
            }
        }
    }

    static func mask(_ length: Int) -> UInt32 { length == 0 ? 0 : ~UInt32(0) << (32 - length) }
}
