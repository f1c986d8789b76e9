import CLinuxShims
#if canImport(Glibc)
import Glibc
#endif

/// The udp backend's TUN device (`flannel0`): created without packet information, given
/// our subnet's address as a /32, the MTU, brought up, and routed the whole network.
public final class TUNDevice: Sendable {
    public let name: String
    public let fd: Int32
    /// Every read and write carries a virtio_net_hdr (IFF_VNET_HDR).
    public let hasVnetHeader: Bool
    /// The kernel hands TCP super-packets to be cut (TUN_F_TSO4), and leaves checksums to
    /// complete (TUN_F_CSUM).
    public let handsSuperPackets: Bool
    public let leavesChecksums: Bool

    /// `offloads`: open with IFF_VNET_HDR and ask for checksum and TSO offloads (the fast
    /// path); whatever the kernel refuses is left off, see the properties.
    public init(name: String, offloads: Bool = false) throws(SystemError) {
        self.name = name
        guard offloads else {
            fd = try SystemError.check(Self.checkedOpen(flannel_tun_open(name)), "TUNSETIFF", name)
            hasVnetHeader = false
            handsSuperPackets = false
            leavesChecksums = false
            return
        }
        var accepted: UInt32 = 0
        fd = try SystemError.check(Self.checkedOpen(flannel_tun_open_vnet(name, flannel_tun_offloads_tso4(), &accepted)),
                                   "TUNSETIFF (IFF_VNET_HDR)", name)
        hasVnetHeader = true
        handsSuperPackets = accepted == flannel_tun_offloads_tso4()
        leavesChecksums = accepted != 0
    }

    /// Only opening /dev/net/tun fails with EACCES (TUNSETIFF says EPERM): said as such, since
    /// the fix is the device's mode, not a capability.
    private static func checkedOpen(_ result: Int32) throws(SystemError) -> Int32 {
        guard result != -EACCES else {
            throw SystemError(call: "open", object: "/dev/net/tun (a non-root agent needs read and write access to it: the usual mode is 0666)",
                              errno: EACCES)
        }
        return result
    }

    /// Address = subnet base /32, MTU, up, and a route for `network` through the device.
    public func configure(address: IPv4Address, mtu: Int, network: IPv4Network) throws(SystemError) {
        // IPv4 only, as in the walkthrough's `ip addr show flannel0`: no link-local address,
        // no router solicitations for the proxy to read and discard.
        disableIPv6()
        try SystemError.check(flannel_if_set_ipv4(name, address.bits.bigEndian, UInt32.max.bigEndian), "SIOCSIFADDR", "\(name) \(address)/32")
        try SystemError.check(flannel_if_set_mtu(name, Int32(mtu)), "SIOCSIFMTU", "\(name) mtu \(mtu)")
        try SystemError.check(flannel_if_up(name), "SIOCSIFFLAGS", "\(name) up")
        let result = flannel_route_add_dev(name, network.address.bits.bigEndian, Self.mask(network.prefixLength).bigEndian)
        // EEXIST: the route survived from our previous run; it is the one we want.
        if result < 0 && -result != EEXIST {
            try SystemError.check(result, "SIOCADDRT", "\(network) dev \(name)")
        }
    }

    /// The queue between the kernel and our reads: a TUN drops what overflows it (no
    /// back-pressure), and the default 500 packets overflow under a TCP burst.
    public func setTransmitQueueLength(_ length: Int) throws(SystemError) {
        try SystemError.check(flannel_if_set_txqueuelen(name, Int32(length)), "SIOCSIFTXQLEN", "\(name) txqueuelen \(length)")
    }

    private func disableIPv6() {
        writeSysctl("/proc/sys/net/ipv6/conf/\(name)/disable_ipv6", "1")
        // The proxy's ICMP errors come from flannel0's own address; without this the kernel
        // drops them as martians and `ping` times out instead of saying "unreachable".
        writeSysctl("/proc/sys/net/ipv4/conf/\(name)/accept_local", "1")
    }

    private func writeSysctl(_ path: String, _ value: String) {
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { return }
        _ = value.withCString { write(fd, $0, strlen($0)) }
        _ = Glibc.close(fd)
    }

    static func mask(_ length: Int) -> UInt32 { length == 0 ? 0 : ~UInt32(0) << (32 - length) }

    public func close() {
        _ = Glibc.close(fd)
    }
}
