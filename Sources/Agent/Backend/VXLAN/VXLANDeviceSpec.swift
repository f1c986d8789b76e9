/// The vxlan device this host needs: `flannel.<VNI>` on the external interface, local
/// address = public IP, the configured port, learning off (peers come from etcd).
public struct VXLANDeviceSpec: Equatable, Sendable {
    public var vni: Int
    public var local: IPv4Address
    public var underlay: KernelDevice
    public var port: Int
    public var mtu: Int

    public var name: String { "flannel.\(vni)" }

    /// Whether an existing device can be kept as it is (apart from MTU and up/down).
    public func isSatisfied(by link: KernelLink) -> Bool {
        guard link.kind == "vxlan", let vxlan = link.vxlan else { return false }
        return vxlan.vni == vni && vxlan.local == local && vxlan.port == port
            && vxlan.underlayIndex == underlay.index && !vxlan.learning
    }

    /// Why an existing device cannot be kept, for the log.
    public func mismatch(with link: KernelLink) -> String {
        guard link.kind == "vxlan", let vxlan = link.vxlan else { return "it is a \(link.kind ?? "plain") device, not vxlan" }
        var reasons: [String] = []
        if vxlan.vni != vni { reasons.append("id \(vxlan.vni) ≠ \(vni)") }
        if vxlan.local != local { reasons.append("local \(vxlan.local.map { "\($0)" } ?? "none") ≠ \(local)") }
        if vxlan.port != port { reasons.append("dstport \(vxlan.port) ≠ \(port)") }
        if vxlan.underlayIndex != underlay.index { reasons.append("underlay device index \(vxlan.underlayIndex.map { "\($0)" } ?? "none") ≠ \(underlay.name)'s \(underlay.index)") }
        if vxlan.learning { reasons.append("learning is on") }
        return reasons.joined(separator: ", ")
    }
}
