import CLinuxShims
#if canImport(Glibc)
import Glibc
#endif

/// The udp backend's socket: bound to the public interface's address and the config's port.
public final class UDPSocket: Sendable {
    public let fd: Int32
    public let address: IPv4Address
    public let port: Int

    public init(address: IPv4Address, port: Int, bufferBytes: Int = 8 << 20) throws(SystemError) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError(call: "socket", object: "udp \(address):\(port)", errno: errno) }
        // No SO_REUSEADDR: a second agent on this port must fail loudly, not share datagrams.
        _ = flannel_socket_set_buffers(fd, Int32(bufferBytes))
        var local = Self.socketAddress(address, port)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let saved = errno
            Glibc.close(fd)
            throw SystemError(call: "bind", object: "udp \(address):\(port)", errno: saved)
        }
        self.fd = fd
        self.address = address
        self.port = port
    }

    /// Asks for UDP_SEGMENT (send many equal datagrams in one call): nil when taken, else
    /// why not.
    public func enableSegmentation() -> String? {
        let result = flannel_udp_probe_segment(fd)
        return result == 0 ? nil : "UDP_SEGMENT refused: \(String(cString: strerror(-result)))"
    }

    /// Asks for UDP_GRO (receive a sender's datagrams joined): nil when taken, else why not.
    public func enableGRO() -> String? {
        let result = flannel_udp_enable_gro(fd)
        return result == 0 ? nil : "UDP_GRO refused: \(String(cString: strerror(-result)))"
    }

    static func socketAddress(_ address: IPv4Address, _ port: Int) -> sockaddr_in {
        var result = sockaddr_in()
        result.sin_family = sa_family_t(AF_INET)
        result.sin_port = UInt16(port).bigEndian
        result.sin_addr.s_addr = address.bits.bigEndian
        return result
    }

    public func close() {
        _ = Glibc.close(fd)
    }
}
