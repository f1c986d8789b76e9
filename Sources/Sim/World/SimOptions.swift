import AgentCore

/// How a simulated world is built: the network config and the agents' settings.
public struct SimOptions: Sendable {
    public var networkConfig = #"{ "Network": "10.1.0.0/16" }"#
    /// `--etcd-api`, flanneld's default: the simulated etcd has the v3 store only.
    public var etcdAPI: EtcdAPI = .auto
    public var leaseTTL: Duration = .seconds(24 * 3600)
    public var renewMargin: Duration = .seconds(3600)
    /// The agents spread their renewals and retries as the daemon's do (`Jitter`).
    public var spreadsTimers = true
    /// etcd's members: 1, or a cluster (`SimEtcdCluster`).
    public var etcdMembers = 1
    /// How long an election takes once the leader is gone (etcd's election timeout of 1 s,
    /// randomised up to twice that, plus the vote), drawn uniformly.
    public var electionTime: ClosedRange<Double> = 1.0...2.0
    /// etcd request latency, each way, drawn uniformly.
    public var etcdLatency: ClosedRange<Double> = 0.0005...0.003
    /// How long a request to an unreachable etcd takes to fail.
    public var requestTimeout: Duration = .seconds(5)
    /// How long a broken watch takes to notice (keepalive) before it reconnects.
    public var watchBreakDetection: Duration = .seconds(2)
    /// The udp agents' fast path (`--udp-offload=auto`): flannel0 hands TCP super-packets
    /// that the proxy cuts, and the receiving proxy joins in-order segments before flannel0
    /// (see `SimWorld.sendStream`). Off: the kernel cuts them before flannel0 and every
    /// datagram is written alone.
    public var udpOffloads = true
    /// Underlay one-way latency per datagram.
    public var underlayLatency: Duration = .microseconds(50)
    /// Keep every trace line (small runs) or only the hash (large runs).
    public var keepsTrace = true
    /// Trace every route change and datagram (scenarios), or only leases, drifts, faults and
    /// agents (the bench's thousands of hosts).
    public var tracesDetail = true
    /// Watch batches that concern only peers reach udp agents lazily when `tracesDetail` is
    /// off (see `SimWorld.startFollowing`): the same run, event for event, without touching
    /// every agent on every change. Off, every batch goes to every agent as it arrives.
    public var deliversLazily = true
    /// A deliberately broken agent build for the chaos tests: the allocator ignores other
    /// hosts' leases and writes its key unconditionally (no create-if-absent).
    public var brokenAllocator = false
    /// A deliberately broken kernel model for the chaos tests: deletions of routes,
    /// neighbours and forwarding entries are ignored, so stale entries pile up.
    public var brokenKernelDeletes = false

    public init() {}
}
