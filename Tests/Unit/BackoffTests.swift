import AgentCore
import Testing

/// Every retry the agent makes waits by `Backoff`; these are the waits an operator sees in the
/// logs ("retrying in …") and etcd sees as load during an outage.
@Suite("Backoff")
struct BackoffTests {
    @Test("doubles per consecutive failure up to the maximum, and starts over after a success")
    func doublesAndResets() {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
        let waits = (0..<6).map { _ in backoff.failed() }
        #expect(waits == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1)])
        backoff.succeeded()
        #expect(backoff.failed() == .milliseconds(100))
    }

    @Test("the presets are the waits the daemon has always used")
    func presets() {
        func waits(_ preset: Backoff, _ count: Int) -> [Duration] {
            var backoff = preset
            return (0..<count).map { _ in backoff.failed() }
        }
        #expect(waits(.networkConfig, 6) == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)])
        #expect(waits(.etcdRead, 7).last == .seconds(5))
        #expect(waits(.etcdRead, 1) == [.milliseconds(200)])
        #expect(waits(.leaseWatch, 8) == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
                                          .milliseconds(1600), .milliseconds(3200), .seconds(5), .seconds(5)])
        #expect(waits(.leaseCall, 8) == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16),
                                         .seconds(30), .seconds(30)])
    }
}
