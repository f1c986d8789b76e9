/// Spreads an agent's timers: hosts started together (a cluster brought up at once, or every
/// agent's retry after the same etcd outage) would otherwise renew and retry at the same
/// instants forever, a request spike per interval. A small generator (SplitMix64) seeded
/// once from the randomness handed to the machine, so the machine stays free of random
/// draws of its own and the simulator replays it.
public struct Jitter: Equatable, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// The next fraction in [0, 1).
    public mutating func fraction() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53)
    }

    /// Independent generators for the agent's timers, from one seed.
    public func derived(_ stream: UInt64) -> Jitter {
        var copy = Jitter(seed: state ^ (stream &* 0xD6E8_FEB8_6659_FD93))
        _ = copy.fraction()
        return copy
    }
}
