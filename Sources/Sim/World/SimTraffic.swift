/// The simulated network's traffic in flight: the pings awaiting an answer, the TCP streams
/// by destination port, and each host's receive-side joiner (the udp fast path's coalescer).
struct SimTraffic {
    var pingSequence: UInt16 = 0
    var pingOutcomes: [PingIdentity: SimWorld.PingOutcome] = [:]
    var streamSequence: UInt16 = 0
    var streams: [UInt16: SimStream] = [:]
    var joiners: [Int: SimSegmentJoiner] = [:]
}
