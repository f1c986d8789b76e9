import Logging

/// Runs the lease machine against a registry in real time: carries out its registry calls,
/// feeds the answers back, keeps its timers, and reports what happened to the lease.
public actor LeaseDriver {
    public enum Notification: Sendable, Equatable {
        case acquired(HeldLease)
        case renewed(HeldLease)
        case lost(SubnetKey, heldBy: IPv4Address?)
        case drifted(from: IPv4Network, to: IPv4Network)
        case failed(LeaseError)
    }

    private var machine: LeaseMachine
    private let registry: any Registry
    private let logger: Logger
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant
    private var generator = SystemRandomNumberGenerator()
    private var timer: Task<Void, Never>?
    private var stopped = false
    private let notify: @Sendable (Notification) async -> Void

    public init(configuration: LeaseMachine.Configuration, registry: any Registry, logger: Logger,
                notify: @escaping @Sendable (Notification) async -> Void) {
        machine = LeaseMachine(configuration: configuration)
        self.registry = registry
        self.logger = logger
        self.notify = notify
        origin = clock.now
    }

    private var now: Timestamp { Timestamp(nanoseconds: (clock.now - origin).nanosecondsClamped) }

    private func instant(_ timestamp: Timestamp) -> ContinuousClock.Instant {
        origin + .nanoseconds(timestamp.nanoseconds)
    }

    public func start() async { await run(machine.start()) }
    public func ownLeaseRemoved() async { await run(machine.ownLeaseRemoved(now: now)) }
    public func ownLeaseOverwritten(by holder: LeaseAttributes) async { await run(machine.ownLeaseOverwritten(by: holder, now: now)) }
    public var lease: HeldLease? { machine.lease }

    /// Cancels the timer and ignores everything after: no new registry call, no new timer.
    public func stop() {
        stopped = true
        timer?.cancel()
        timer = nil
    }

    private func run(_ initial: [LeaseMachine.Action]) async {
        var pending = initial
        while !pending.isEmpty && !stopped {
            let action = pending.removeFirst()
            pending += await perform(action)
        }
    }

    private func perform(_ action: LeaseMachine.Action) async -> [LeaseMachine.Action] {
        switch action {
        case .listLeases:
            do {
                let listing = try await registry.listLeases()
                for problem in listing.malformed { logger.warning("\(problem)") }
                return machine.leasesListed(listing, now: now, using: &generator)
            } catch {
                return failed("listing leases", error)
            }
        case let .createLease(key, attributes, ttl):
            do {
                let revision = try await registry.createLease(key, attributes: attributes, ttl: ttl)
                if revision == nil { logger.info("subnet \(key.ipv4) was taken by another host first; choosing again") }
                return machine.createCompleted(modRevision: revision, now: now)
            } catch {
                return failed("creating the lease for \(key.ipv4)", error)
            }
        case let .updateLease(key, attributes, ttl, expected):
            do {
                let outcome = try await registry.updateLease(key, attributes: attributes, ttl: ttl, expectedModRevision: expected)
                return machine.updateCompleted(outcome, now: now)
            } catch {
                return failed("renewing the lease for \(key.ipv4)", error)
            }
        case let .deleteLease(key, expected, reason):
            logger.notice("deleting our old lease \(key.ipv4): \(reason)")
            do {
                try await registry.deleteLease(key, expectedModRevision: expected)
                return machine.deleteCompleted(now: now)
            } catch {
                return failed("deleting the lease for \(key.ipv4)", error)
            }
        case let .scheduleRenewal(at):
            schedule(at: instant(at)) { driver in await driver.renewalDue() }
        case let .scheduleRetry(after):
            schedule(at: clock.now + after) { driver in await driver.retryDue() }
        case let .leaseAcquired(lease):
            await notify(.acquired(lease))
        case let .leaseRenewed(lease):
            await notify(.renewed(lease))
        case let .leaseLost(key, holder):
            await notify(.lost(key, heldBy: holder))
        case let .subnetDrifted(from, to):
            await notify(.drifted(from: from, to: to))
        case let .failed(error):
            await notify(.failed(error))
        }
        return []
    }

    private func failed(_ what: String, _ error: any Error) -> [LeaseMachine.Action] {
        logger.warning("\(what) failed: \(error); retrying")
        return machine.operationFailed(now: now)
    }

    private func renewalDue() async { await run(machine.renewalDue(now: now)) }
    private func retryDue() async { await run(machine.retryDue(now: now)) }

    /// One timer at a time (each is scheduled by a state change that makes the previous one
    /// moot). The timer task only sleeps; the work it triggers runs in a task of its own, so
    /// replacing the timer never cancels a registry call in flight.
    private func schedule(at deadline: ContinuousClock.Instant, _ body: @escaping @Sendable (LeaseDriver) async -> Void) {
        guard !stopped else { return }
        timer?.cancel()
        timer = Task { [weak self] in
            do { try await Task.sleep(until: deadline, clock: ContinuousClock()) } catch { return }
            guard let self else { return }
            Task { await body(self) }
        }
    }
}
