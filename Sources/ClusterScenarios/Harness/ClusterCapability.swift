/// A check only some worlds can make. A scenario asks for it; the report says where it ran.
public enum ClusterCapability: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The agent's `/metrics` (lab: real HTTP; the simulator has no metrics server).
    case metrics
    /// The underlay's packets as tcpdump would print them (simulator: its trace).
    case underlayCapture
    /// A TCP stream through iperf3 (lab).
    case iperf3
    /// The agents' real log files, line for line (lab); the simulator traces log lines, not files.
    case logFiles
    /// etcd request counts (simulator).
    case etcdRequestCounts
    /// The world's global invariants after the run (simulator: no duplicate subnet, every
    /// host's peers and routes right, every pair reachable).
    case invariants

    public var description: String { rawValue }
}
