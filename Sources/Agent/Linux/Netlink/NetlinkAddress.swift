#if canImport(Glibc)
import Glibc
#endif

/// An address family as rtnetlink carries it: the `AF_*` number in message headers and the
/// address as big-endian bytes in attributes (4 for IPv4, 16 for IPv6).
public protocol NetlinkAddress: KernelAddressFamily {
    static var netlinkFamily: UInt8 { get }
}

extension NetlinkAddress {
    /// The address in network byte order.
    var netlinkBytes: [UInt8] {
        (0..<Self.bitWidth / 8).reversed().map { UInt8(truncatingIfNeeded: bits >> ($0 * 8)) }
    }

    /// Reads an address of this family from exactly its number of bytes.
    init?(netlinkBytes bytes: ArraySlice<UInt8>) {
        guard bytes.count == Self.bitWidth / 8 else { return nil }
        self.init(bits: bytes.reduce(Bits(0)) { $0 << 8 | Bits($1) })
    }
}

extension IPv4Address: NetlinkAddress {
    public static var netlinkFamily: UInt8 { UInt8(AF_INET) }
}

extension IPv6Address: NetlinkAddress {
    public static var netlinkFamily: UInt8 { UInt8(AF_INET6) }
}
