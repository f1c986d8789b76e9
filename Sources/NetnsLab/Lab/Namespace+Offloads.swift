import Agent
import CLinuxShims
#if canImport(Glibc)
import Glibc
#endif

extension Namespace {
    /// Offloads the lab turns on or off on an interface, as `ethtool -K` would (without needing
    /// ethtool).
    public enum Offload: String, Sendable {
        /// Generic receive offload: on a veth it also turns on the NAPI receive path.
        case gro
        /// TCP segmentation offload.
        case tso

        var shimFeature: Int32 {
            switch self {
            case .gro: Int32(FLANNEL_OFFLOAD_GRO)
            case .tso: Int32(FLANNEL_OFFLOAD_TSO)
            }
        }
    }

    /// Switches `offload` of `interface` in this namespace on or off.
    public func setOffload(_ offload: Offload, on: Bool, interface: String) throws {
        let fd = flannel_inet_socket_in(path)
        guard fd >= 0 else { throw SystemError(call: "socket(AF_INET) in namespace", object: path, errno: -fd) }
        defer { close(fd) }
        let result = flannel_if_set_offload(fd, interface, offload.shimFeature, on)
        guard result == 0 else {
            let cause = switch -result {
            case EIO: ": the device kept it \(on ? "off" : "on") (read back after the change)"
            case EOPNOTSUPP: ": the driver cannot switch it"
            default: ""
            }
            throw SystemError(call: "SIOCETHTOOL \(offload.rawValue) \(on ? "on" : "off")\(cause)", object: "\(interface) in namespace \(name)",
                              errno: -result)
        }
    }
}
