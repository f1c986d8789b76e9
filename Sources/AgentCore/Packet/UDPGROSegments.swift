/// How a datagram received with `UDP_GRO` splits back into the datagrams the peer sent. The
/// kernel joins datagrams of one flow, every one `segmentSize` bytes but the last (which may be
/// shorter), into one buffer and reports `segmentSize` in a control message; 0 (or none) means
/// the datagram was not joined and is whole. Pure: the daemon's receive loop and the fuzz
/// target walk the very same ranges.
///
/// The ranges are offsets into the received bytes: they cover `0..<length` exactly, in order,
/// each non-empty, each `step` long but the last, which is `1...step` long.
public struct UDPGROSegments: Sequence, IteratorProtocol {
    /// The received length; a negative one (a truncated message) splits into nothing.
    public let length: Int
    /// The size of each segment but the last.
    public let step: Int
    private var offset = 0

    @inline(__always)
    public init(length: Int, segmentSize: Int) {
        self.length = Swift.max(length, 0)
        step = segmentSize > 0 ? segmentSize : Swift.max(self.length, 1)
    }

    /// How many datagrams the buffer holds.
    public var count: Int { length == 0 ? 0 : (length - 1) / step + 1 }

    @inline(__always)
    public mutating func next() -> Range<Int>? {
        guard offset < length else { return nil }
        // `length - offset > step` rather than `offset + step`: no overflow whatever `step` is.
        let end = length - offset > step ? offset + step : length
        defer { offset = end }
        return offset..<end
    }
}
