/// At most `linesPerWindow` lines of one kind per `window`: for warnings whose number a
/// writer to etcd controls. What was held back is reported once the next window opens.
public struct LogBudget: Sendable {
    public let linesPerWindow: Int
    public let window: Duration
    private var windowStart: Timestamp?
    private var linesInWindow = 0
    private var heldBack = 0

    public init(linesPerWindow: Int = 10, window: Duration = .seconds(60)) {
        self.linesPerWindow = linesPerWindow
        self.window = window
    }

    public enum Verdict: Equatable, Sendable {
        /// Log the line; first say that `heldBack` lines were not logged in the last window.
        case log(heldBack: Int)
        case holdBack
    }

    public mutating func admit(now: Timestamp) -> Verdict {
        if let start = windowStart, now < start + window {
            guard linesInWindow < linesPerWindow else {
                heldBack += 1
                return .holdBack
            }
            linesInWindow += 1
            return .log(heldBack: 0)
        }
        let before = heldBack
        windowStart = now
        linesInWindow = 1
        heldBack = 0
        return .log(heldBack: before)
    }
}
