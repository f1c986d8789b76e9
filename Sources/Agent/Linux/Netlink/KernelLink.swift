/// A network device as `RTM_GETLINK` reports it, with the vxlan settings when it is one.
public struct KernelLink: Equatable, Sendable, CustomStringConvertible {
    public var device: KernelDevice
    public var mtu: Int
    public var isUp: Bool
    public var mac: MACAddress?
    /// `IFLA_INFO_KIND`: "vxlan", "veth", "bridge", "tun", ... (nil for plain devices).
    public var kind: String?
    public var vxlan: VXLAN?

    public struct VXLAN: Equatable, Sendable {
        public var vni: Int
        public var local: IPv4Address?
        /// The IPv6 local endpoint (`flannel-v6.<VNI>`), instead of `local`.
        public var localIPv6: IPv6Address?
        public var port: Int
        /// The underlay device's index (`dev` in `ip link add ... type vxlan`).
        public var underlayIndex: Int?
        public var learning: Bool

        public init(vni: Int, local: IPv4Address?, localIPv6: IPv6Address? = nil, port: Int, underlayIndex: Int?, learning: Bool) {
            self.vni = vni
            self.local = local
            self.localIPv6 = localIPv6
            self.port = port
            self.underlayIndex = underlayIndex
            self.learning = learning
        }
    }

    public var name: String { device.name }
    public var index: Int { device.index }

    public var description: String {
        var text = "\(device.name) (index \(device.index), MTU \(mtu), \(isUp ? "up" : "down")"
        if let mac { text += ", \(mac)" }
        if let vxlan {
            text += ", vxlan id \(vxlan.vni) local \(vxlan.local.map { "\($0)" } ?? vxlan.localIPv6.map { "\($0)" } ?? "none") port \(vxlan.port)"
        }
        return text + ")"
    }
}
