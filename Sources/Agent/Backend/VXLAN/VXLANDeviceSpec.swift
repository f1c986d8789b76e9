/// The vxlan device this host needs: `flannel.<VNI>` on the external interface, local
/// address = the interface's address, the configured port, learning off (peers come from
/// etcd); on a dual-stack network also `flannel-v6.<VNI>`, local = its IPv6 address.
public struct VXLANDeviceSpec: Equatable, Sendable {
    public var vni: Int
    public var local: IPv4Address?
    /// Set for the IPv6 device, instead of `local`.
    public var localIPv6: IPv6Address?
    public var underlay: KernelDevice
    public var port: Int
    public var mtu: Int

    public init(vni: Int, local: IPv4Address, underlay: KernelDevice, port: Int, mtu: Int) {
        (self.vni, self.local, self.underlay, self.port, self.mtu) = (vni, local, underlay, port, mtu)
    }

    public init(vni: Int, localIPv6: IPv6Address, underlay: KernelDevice, port: Int, mtu: Int) {
        (self.vni, self.localIPv6, self.underlay, self.port, self.mtu) = (vni, localIPv6, underlay, port, mtu)
    }

    public var name: String {
        localIPv6 == nil ? BackendDevice.vxlan(vni: vni, port: port, mtu: mtu).name : BackendDevice.vxlanIPv6(vni: vni, port: port, mtu: mtu).name
    }

    /// The local endpoint, for `ip link add ... local`.
    var localText: String { localIPv6.map { "\($0)" } ?? local.map { "\($0)" } ?? "none" }

    /// Whether an existing device can be kept as it is (apart from MTU and up/down).
    public func isSatisfied(by link: KernelLink) -> Bool {
        guard link.kind == "vxlan", let vxlan = link.vxlan else { return false }
        return vxlan.vni == vni && vxlan.local == local && vxlan.localIPv6 == localIPv6 && vxlan.port == port
            && vxlan.underlayIndex == underlay.index && !vxlan.learning
    }

    /// Why an existing device cannot be kept, for the log.
    public func mismatch(with link: KernelLink) -> String {
        guard link.kind == "vxlan", let vxlan = link.vxlan else { return "it is a \(link.kind ?? "plain") device, not vxlan" }
        var reasons: [String] = []
        if vxlan.vni != vni { reasons.append("id \(vxlan.vni) ≠ \(vni)") }
        if vxlan.local != local || vxlan.localIPv6 != localIPv6 {
            reasons.append("local \(vxlan.local.map { "\($0)" } ?? vxlan.localIPv6.map { "\($0)" } ?? "none") ≠ \(localText)")
        }
        if vxlan.port != port { reasons.append("dstport \(vxlan.port) ≠ \(port)") }
        if vxlan.underlayIndex != underlay.index { reasons.append("underlay device index \(vxlan.underlayIndex.map { "\($0)" } ?? "none") ≠ \(underlay.name)'s \(underlay.index)") }
        if vxlan.learning { reasons.append("learning is on") }
        return reasons.joined(separator: ", ")
    }
}
