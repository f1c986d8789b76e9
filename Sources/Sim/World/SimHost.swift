import Agent

/// A simulated host: its underlay address, the subnet.env that survives agent restarts, its
/// kernel state (flannel0, docker0, containers) and the agent running on it, if any.
public final class SimHost {
    public struct Container: Sendable, Equatable {
        public var name: String
        public var address: IPv4Address
    }

    public struct Tunnel: Sendable, Equatable {
        public var address: IPv4Address
        public var mtu: Int
        /// The whole flannel network, routed through flannel0.
        public var network: IPv4Network
    }

    public let index: Int
    public let publicIP: IPv4Address
    public var name: String { "h\(index)" }
    public let underlayMTU = 1500

    /// subnet.env's text: written by the agent, read back by the next agent after a restart.
    public internal(set) var subnetFileText: String?
    /// subnet.env parsed.
    public internal(set) var subnetFile: SubnetFile? {
        get { subnetFileText.flatMap { try? SubnetFile.parse($0) } }
        set { subnetFileText = newValue?.rendered }
    }
    /// flannel0 and its network route; they exist while the agent's data path does.
    public internal(set) var tunnel: Tunnel?
    /// docker0's subnet, fixed when the containers were created (from subnet.env, as docker's --bip).
    public internal(set) var bridge: IPv4Network?
    public internal(set) var containers: [Container] = []
    public internal(set) var agent: SimAgent?
    /// Bumped whenever the agent process goes away, so late answers to a dead agent are dropped.
    public internal(set) var generation = 0
    /// The agent process is frozen (SIGSTOP, a VM pause) until then: its timers, answers and
    /// watch events wait, its proxy forwards nothing. What a clock jump means to an agent whose
    /// timers run on a monotonic clock.
    public internal(set) var pausedUntil: Timestamp?
    /// Work that arrived while the agent was paused, in arrival order.
    var deferred: [() -> Void] = []

    func isPaused(at now: Timestamp) -> Bool { pausedUntil.map { $0 > now } ?? false }

    init(index: Int, publicIP: IPv4Address) {
        self.index = index
        self.publicIP = publicIP
    }

    public var isAgentRunning: Bool { agent != nil }

    public func container(at address: IPv4Address) -> Container? {
        containers.first { $0.address == address }
    }
}
