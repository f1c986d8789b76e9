/// What the udp backend's fast path got from the kernel, step by step down the table of
/// `--udp-offload=auto`: a vnet header on the TUN, TCP super-packets from it (cut in user
/// space), UDP_SEGMENT sends, UDP_GRO receives (joined back before the TUN).
public struct UDPOffloads: Sendable, Equatable, CustomStringConvertible {
    public var vnetHeader = false
    public var tso = false
    public var udpSegment = false
    public var udpGRO = false

    public init(vnetHeader: Bool = false, tso: Bool = false, udpSegment: Bool = false, udpGRO: Bool = false) {
        self.vnetHeader = vnetHeader
        self.tso = tso
        self.udpSegment = udpSegment
        self.udpGRO = udpGRO
    }

    public static let none = UDPOffloads()

    public var description: String {
        guard vnetHeader || udpGRO || udpSegment else { return "off (plain TUN, one datagram per inner packet, sent and received in batches)" }
        return [vnetHeader ? (tso ? "TUN TSO4 (segmented here)" : "TUN checksum offload only") : "TUN without offloads",
                udpSegment ? "UDP_SEGMENT sends" : "one send per datagram",
                udpGRO ? "UDP_GRO receives (joined back into TSO writes)" : "one receive per datagram"].joined(separator: ", ")
    }
}
