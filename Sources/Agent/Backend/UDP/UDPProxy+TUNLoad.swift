extension UDPProxy {
    /// How busy the TUN has been for the inbound thread lately, in read calls per fixed window:
    /// `readsPerWindowBeforeHandOver` within `window` (ACKs trickling in while the inbound
    /// thread receives a bulk flow) call the outbound thread, as a drain that uses its whole
    /// budget does (`serveTUN`).
    struct TUNLoad {
        /// 10 ms, in nanoseconds.
        static let window: Int64 = 10_000_000
        static let readsPerWindowBeforeHandOver = 64
        var windowStart: Int64 = 0
        var reads = 0

        /// Adds `count` reads made at `now` (monotonic ns); true when that makes the TUN busy.
        mutating func add(_ count: Int, at now: Int64) -> Bool {
            if now - windowStart > Self.window {
                windowStart = now
                reads = 0
            }
            reads += count
            return reads >= Self.readsPerWindowBeforeHandOver
        }
    }
}
