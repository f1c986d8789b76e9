/// What a ping series saw.
public struct PingSeriesOutcome: Equatable, Sendable {
    public var transmitted: Int
    public var received: Int
    /// The longest run of unanswered echoes, as time.
    public var longestSilence: Duration
    /// An echo was answered after the longest silence: traffic came back.
    public var resumed: Bool
    public var lost: Int { transmitted - received }

    public init(transmitted: Int, received: Int, longestSilence: Duration, resumed: Bool) {
        self.transmitted = transmitted
        self.received = received
        self.longestSilence = longestSilence
        self.resumed = resumed
    }

    /// From the sequence numbers answered out of `transmitted`.
    public init(answered: Set<Int>, transmitted: Int, interval: Duration) {
        var longest = 0, previous = 0, gapEnd = 0
        for sequence in answered.sorted() + [transmitted + 1] {
            if sequence - previous - 1 > longest {
                longest = sequence - previous - 1
                gapEnd = sequence
            }
            previous = sequence
        }
        self.init(transmitted: transmitted, received: answered.count, longestSilence: interval * longest,
                  resumed: longest == 0 ? !answered.isEmpty : answered.contains(gapEnd))
    }
}
