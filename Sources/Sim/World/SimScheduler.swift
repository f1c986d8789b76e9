import AgentCore

/// Virtual time: a queue of events ordered by (deadline, sequence). Time jumps from one event
/// to the next; two events at the same instant run in the order they were scheduled, so a run
/// depends only on its seed. One thread, no clock.
public final class SimScheduler {
    struct Entry: HeapOrdered {
        var time: Timestamp
        var sequence: UInt64
        var action: () -> Void

        func precedes(_ other: Entry) -> Bool {
            time != other.time ? time < other.time : sequence < other.sequence
        }
    }

    public private(set) var now: Timestamp = .zero
    public private(set) var eventsRun = 0
    private var heap = MinHeap<Entry>()
    private var sequence: UInt64 = 0

    public init() {}

    public var pendingCount: Int { heap.count }
    /// Set when the run has already failed (a broken invariant): nothing more happens, so a
    /// broken build that livelocks cannot keep the run going.
    public private(set) var isHalted = false

    public func halt() { isHalted = true }

    public func schedule(at time: Timestamp, _ action: @escaping () -> Void) {
        sequence += 1
        heap.push(Entry(time: max(time, now), sequence: sequence, action: action))
    }

    public func schedule(after delay: Duration, _ action: @escaping () -> Void) {
        schedule(at: now + delay, action)
    }

    /// Runs every event due at or before `time`, then sets the clock to `time`.
    public func run(until time: Timestamp) {
        while !isHalted, let first = heap.first, first.time <= time {
            let entry = heap.popFirst()!
            now = entry.time
            eventsRun += 1
            entry.action()
        }
        now = max(now, time)
    }
}
