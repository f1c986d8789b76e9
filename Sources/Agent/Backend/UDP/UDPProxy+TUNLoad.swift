extension UDPProxy {
    /// How busy the TUN has been for the inbound thread lately: `readsPerWindowBeforeHandOver`
    /// read calls within `window` (ACKs trickling in while the inbound thread receives a bulk
    /// flow) call the outbound thread, as a drain that uses its whole budget does (`serveTUN`).
    /// The clock is read only when the reads counted reach that number, not after every drain:
    /// on a quiet host a drain is one read, and the clock's pages would be one more thing to
    /// fetch after each idle wake-up.
    struct TUNLoad {
        /// 10 ms, in nanoseconds.
        static let window: Int64 = 10_000_000
        static let readsPerWindowBeforeHandOver = 64
        /// When the count last started over (monotonic ns; 0: never).
        var windowStart: Int64 = 0
        var reads = 0

        /// Adds `count` reads; `now` (monotonic ns) is asked only when they reach the threshold.
        /// True when they did so within `window` of the count's start; otherwise the count
        /// starts over from then.
        mutating func add(_ count: Int, now: () -> Int64) -> Bool {
            reads += count
            guard reads >= Self.readsPerWindowBeforeHandOver else { return false }
            let time = now()
            if windowStart > 0 && time - windowStart <= Self.window { return true }
            windowStart = time
            reads = 0
            return false
        }
    }
}
