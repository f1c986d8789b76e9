import Agent
import CLinuxShims
#if canImport(Glibc)
import Glibc
#endif

extension Namespace {
    /// Offloads the lab switches on an interface, as `ethtool -K` would (without needing ethtool).
    public enum Offload: Sendable, CustomStringConvertible {
        /// Generic receive offload: on a veth it also turns on the NAPI receive path.
        case gro
        /// TCP segmentation offload.
        case tso

        public var description: String { self == .gro ? "gro" : "tso" }
    }

    /// Switches `offload` of `interface` in this namespace on or off.
    public func setOffload(_ offload: Offload, on: Bool, interface: String) throws {
        let path = "/var/run/netns/\(name)"
        let fd = flannel_inet_socket_in(path)
        guard fd >= 0 else { throw SystemError(call: "socket(AF_INET) in namespace", object: path, errno: -fd) }
        defer { close(fd) }
        let result = flannel_if_set_offload(fd, interface, Int32(offload == .gro ? FLANNEL_OFFLOAD_GRO : FLANNEL_OFFLOAD_TSO), on)
        guard result == 0 else {
            throw SystemError(call: "ethtool -K \(interface) \(offload) \(on ? "on" : "off")", object: "\(interface) in \(name)", errno: -result)
        }
    }
}
