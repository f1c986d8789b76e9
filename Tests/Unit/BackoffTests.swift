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

    @Test("with jitter each wait is 75–100 % of the plain one, never past the maximum, and two agents' waits differ")
    func jitterSpreadsRetries() {
        func waits(seed: UInt64) -> [Duration] {
            var backoff = Backoff.leaseCall
            backoff.jitter = Jitter(seed: seed)
            return (0..<8).map { _ in backoff.failed() }
        }
        var plain = Backoff.leaseCall
        let exact = (0..<8).map { _ in plain.failed() }
        let first = waits(seed: 1), second = waits(seed: 2)
        for (wait, base) in zip(first + second, exact + exact) {
            #expect(wait >= base * 0.75 && wait <= base, "\(wait) is not within 75–100 % of \(base)")
        }
        #expect(zip(first, second).allSatisfy { $0 != $1 }, "agents failing together retry apart: \(first) \(second)")
        #expect(waits(seed: 1) == first, "the same seed, the same waits (the simulator replays them)")
    }

    @Test("fractions are spread over [0, 1)")
    func jitterFractions() {
        var jitter = Jitter(seed: 42)
        let fractions = (0..<10_000).map { _ in jitter.fraction() }
        #expect(fractions.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = fractions.reduce(0, +) / Double(fractions.count)
        #expect(abs(mean - 0.5) < 0.02, "mean \(mean)")
        #expect(Set((0..<10).map { _ in Int(jitter.fraction() * 1_000_000) }).count == 10)
    }
}
