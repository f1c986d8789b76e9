extension UDPProxy {
    /// How busy the TUN has been for the inbound thread lately: when the reads counted since a
    /// window began reach `readsPerWindowBeforeHandOver` within `window` (ACKs trickling in while
    /// the inbound thread receives a bulk flow), the outbound thread is called, as it is by a
    /// drain that uses its whole budget (`serveTUN`). The clock is read only when the count
    /// reaches that number, not after every drain (on a quiet host a drain is one read, and the
    /// clock one more thing to fetch after each idle wake-up), so a window begins at such a
    /// crossing: the first crossing after a quiet spell only starts one.
    struct TUNLoad {
        /// 10 ms, in nanoseconds.
        static let window: Int64 = 10_000_000
        static let readsPerWindowBeforeHandOver = 64
        /// When the count last started over (monotonic ns; 0: never).
        var windowStart: Int64 = 0
        var reads = 0

        /// Adds the `count` reads of one drain; `now` (monotonic ns) is asked only when the count
        /// reaches the threshold. True when it did so within `window` of the window's start;
        /// otherwise a window starts now, counting this drain's reads.
        mutating func add(_ count: Int, now: () -> Int64) -> Bool {
            reads += count
            guard reads >= Self.readsPerWindowBeforeHandOver else { return false }
            let time = now()
            if windowStart > 0 && time - windowStart <= Self.window { return true }
            windowStart = time
            reads = count
            return false
        }
    }
}
