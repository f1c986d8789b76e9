import AgentCore
import ClusterScenarios

/// The control-plane bench in the simulator, the same setup as the lab's (`netns-lab
/// scale-bench`): the setup's agents start at once and converge; a rest; more hosts join one
/// at a time; etcd's leader is killed. Times come from the
/// trace (microseconds of virtual time), requests from etcd's count.
public struct SimControlPlaneBench: Sendable {
    public var setup: ControlPlaneSetup
    public var seed: UInt64 = 1

    public init(setup: ControlPlaneSetup) {
        self.setup = setup
    }

    public enum Failure: Error, CustomStringConvertible {
        case notConverged(String)
        public var description: String {
            switch self {
            case let .notConverged(what): "the simulated cluster did not converge: \(what)"
            }
        }
    }

    public func run() throws -> ControlPlaneFigures {
        let (hosts, joins, rest, leaseTTL) = (setup.hosts, setup.joins, setup.rest, setup.leaseTTL)
        var options = SimOptions()
        options.etcdMembers = setup.etcdMembers
        options.leaseTTL = leaseTTL
        let world = SimWorld(seed: seed, options: options)
        world.writeNetworkConfig(setup.networkConfig)
        var running = (0..<hosts).map { _ in world.addHost() }

        // Cold start: every agent at once.
        let start = world.now
        let requestsBefore = world.statistics.etcdRequests
        for host in running { world.startAgent(host) }
        guard world.run(until: { Self.converged(running) }, timeout: .seconds(300)) else {
            throw Failure.notConverged("\(hosts) agents after 300 s")
        }
        let coldRequests = world.statistics.etcdRequests - requestsBefore
        let converged = running.compactMap { host in lastRouteAdded(on: host, in: world) }.max() ?? world.now

        // Rest.
        let restBefore = world.statistics.etcdRequests
        world.run(for: rest)
        var figures = ControlPlaneFigures(hosts: hosts, coldStartConvergence: converged - start, coldStartRequests: coldRequests,
                                          restRequests: world.statistics.etcdRequests - restBefore, rest: rest)

        // Joins, one at a time, a second apart.
        for _ in 0..<joins {
            let newcomer = world.addHost()
            let joinedAt = world.now
            world.startAgent(newcomer)
            let others = running
            guard world.run(until: {
                guard let subnet = newcomer.subnetFile?.subnet else { return false }
                return others.allSatisfy { $0.agent?.table.peers.contains { $0.subnet == subnet } ?? false }
            }, timeout: .seconds(30)), let subnet = newcomer.subnetFile?.subnet else {
                throw Failure.notConverged("newcomer \(newcomer.name) not reachable from every host within 30 s")
            }
            let reached = others.compactMap { routeAdded(subnet, on: $0, in: world) }.max() ?? world.now
            let leased = leaseAcquired(by: newcomer, in: world) ?? joinedAt
            figures.joinsFromStart.append(reached - joinedAt)
            // The others may program it before the newcomer hears its create answered.
            figures.joinsFromLease.append(max(.zero, reached - leased))
            running.append(newcomer)
            world.run(for: .seconds(1))
        }

        // The leader killed: until every agent has renewed.
        if let leader = world.etcdLeader {
            let revision = world.etcd.revision
            let killedAt = world.now
            world.killEtcdMember(leader)
            let keys = running.compactMap { $0.agent?.held?.key }
            if world.run(until: {
                keys.allSatisfy { key in (world.etcd.range(key: world.layout.leaseKey(key)).kvs.first?.modRevision ?? 0) > revision }
            }, timeout: leaseTTL * 3) {
                figures.renewedAfterLeaderKill = world.now - killedAt
            }
            let killLine = world.trace.lines.lastIndex { $0.contains("etcd member m\(leader) killed") } ?? world.trace.lines.endIndex
            figures.failedRenewalsAfterLeaderKill = world.trace.lines[killLine...].filter {
                $0.contains(" renewing the lease for ") && $0.contains(" failed: ")
            }.count
        }
        return figures
    }

    static func converged(_ hosts: [SimHost]) -> Bool {
        let subnets = hosts.map { $0.subnetFile?.subnet }
        guard !subnets.contains(nil) else { return false }
        return zip(hosts, subnets).allSatisfy { host, own in
            guard let peers = host.agent?.table.peers else { return false }
            return peers.count >= hosts.count - 1 && subnets.allSatisfy { subnet in subnet == own || peers.contains { $0.subnet == subnet } }
        }
    }

    /// When `host`'s agent last added a route (its last peer, at convergence).
    private func lastRouteAdded(on host: SimHost, in world: SimWorld) -> Timestamp? {
        world.trace.lines.last { $0.contains("] \(host.name) route ") && $0.hasSuffix(" added") }.flatMap(Self.time)
    }

    private func routeAdded(_ subnet: IPv4Network, on host: SimHost, in world: SimWorld) -> Timestamp? {
        world.trace.lines.last { $0.contains("] \(host.name) route \(subnet) via ") && $0.hasSuffix(" added") }.flatMap(Self.time)
    }

    private func leaseAcquired(by host: SimHost, in world: SimWorld) -> Timestamp? {
        world.trace.lines.last { $0.contains("] \(host.name) acquired lease ") }.flatMap(Self.time)
    }

    /// "[      12.345678] …" → 12.345678 s.
    static func time(_ line: String) -> Timestamp? {
        guard line.hasPrefix("["), let close = line.firstIndex(of: "]") else { return nil }
        let text = line[line.index(after: line.startIndex)..<close].drop { $0 == " " }
        let parts = text.split(separator: ".")
        guard parts.count == 2, let seconds = Int64(parts[0]), let micros = Int64(parts[1]) else { return nil }
        return Timestamp(nanoseconds: seconds * 1_000_000_000 + micros * 1_000)
    }
}
