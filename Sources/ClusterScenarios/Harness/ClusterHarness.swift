import AgentCore

/// A cluster that scenarios drive without knowing which world it is: the simulator (virtual
/// time, in-memory etcd, simulated hosts) or the lab (network namespaces, a real etcd, real
/// flanneld processes). Every call blocks until done; time passes only in `pass` and
/// `waitUntil` (and in the pings), virtual in one world, real in the other.
///
/// A check only one world can make asks for a `ClusterCapability`; the rest of the protocol
/// every world implements.
public protocol ClusterHarness: AnyObject {
    /// Which world this is, for the report.
    var kind: ClusterWorld { get }
    var capabilities: Set<ClusterCapability> { get }

    // MARK: etcd

    /// Writes `<prefix>/config`.
    func writeConfig(_ json: String) throws
    /// Writes a key under the prefix (`subnets/10.1.77.0-24`), no TTL.
    func putKey(_ relativeKey: String, _ value: String) throws
    /// Many keys at once, in order (the lab batches them); values may be up to etcd's 1.5 MiB.
    func putKeys(_ entries: [(key: String, value: String)]) throws
    func deleteKey(_ relativeKey: String) throws
    /// The subnet leases in etcd, in key order.
    func leases() throws -> [ClusterLease]
    /// etcd's current revision.
    func etcdRevision() throws -> Int64
    /// Compacts etcd's history up to the current revision.
    func compactEtcd() throws
    func stopEtcd() throws
    func startEtcd() throws

    // MARK: etcd as a cluster (`Scenario.etcd.members` > 1)

    /// The member that leads now (1, 2, …), as the members say; nil while none does.
    func etcdLeader() throws -> Int?
    /// Member `member` dies (SIGKILL); `startEtcdMember` brings it back on its data.
    func killEtcdMember(_ member: Int) throws
    /// Starts member `member` again and waits until it answers.
    func startEtcdMember(_ member: Int) throws
    /// Cuts `member` off from the other members (peer traffic) while clients still reach it,
    /// or heals it.
    func isolateEtcdMember(_ member: Int, _ isolated: Bool) throws
    /// Replaces `member` as an operator replaces a failed machine: removed from the cluster,
    /// its data wiped, added back as a new member of the same name, started, waited for.
    func replaceEtcdMember(_ member: Int) throws

    // MARK: Hosts and agents

    /// One more host (h1, h2, … in order), no agent yet.
    func addHost() throws -> ClusterHost
    func startAgent(on host: ClusterHost, _ settings: AgentSettings) throws
    /// SIGTERM; returns the exit status.
    @discardableResult
    func stopAgent(on host: ClusterHost) throws -> Int32?
    func agentIsRunning(on host: ClusterHost) -> Bool
    /// The agent's subnet.env, if it has written one.
    func subnetFile(of host: ClusterHost) throws -> SubnetFile?
    /// Whether `host`'s agent currently has `subnet` as a peer.
    func knowsPeer(_ subnet: IPv4Network, on host: ClusterHost) throws -> Bool
    /// The subnet changes `host`'s agents reported (drifts), oldest first.
    func drifts(of host: ClusterHost) throws -> [ClusterDrift]
    /// What `host`'s current agent did with the peer `subnet`, in order (its log lines).
    func peerEvents(for subnet: IPv4Network, on host: ClusterHost) throws -> [PeerEvent]
    /// How many lines of `host`'s agent logs (every run) contain `text`.
    func logCount(_ text: String, on host: ClusterHost) throws -> Int
    /// The agent's `/metrics` (`.metrics`).
    func metrics(of host: ClusterHost) throws -> String
    /// How many lines `host`'s agents have logged (`.logFiles`).
    func logLineCount(on host: ClusterHost) throws -> Int
    /// etcd requests that failed so far, all hosts (`.etcdRequestCounts`).
    func failedEtcdRequests() throws -> Int
    /// The underlay's packets so far, as tcpdump prints them (`.underlayCapture`).
    func underlayCapture() throws -> [String]

    /// `host`'s kernel entries into `network` (not docker0's own route), sorted, as text:
    /// `neighbour 10.1.15.0 lladdr <mac> dev flannel.1`, `fdb <mac> dst 192.0.2.12 dev
    /// flannel.1`, `route 10.1.15.0/24 via 10.1.15.0 dev flannel.1 onlink`.
    func kernelEntries(on host: ClusterHost, network: IPv4Network) throws -> [String]
    /// The same for the IPv6 half of a dual-stack network (`flannel-v6.<VNI>`, IPv6 routes).
    func kernelEntries(on host: ClusterHost, ipv6Network network: IPv6Network) throws -> [String]
    /// The MAC of `device` on `host`; nil when there is no such device.
    func deviceMAC(_ device: String, on host: ClusterHost) throws -> MACAddress?
    /// `host`'s `flannel-wg` (wireguard backend); nil when there is none.
    func wireGuardDevice(on host: ClusterHost) throws -> ClusterWireGuardDevice?
    /// `ip link del <device>` on `host`, as an operator would.
    func deleteDevice(_ device: String, on host: ClusterHost) throws

    // MARK: Network

    /// Cuts `host` off from etcd (its open connections die, new ones get no answer), or heals it.
    func cutFromEtcd(_ host: ClusterHost, _ cut: Bool) throws
    /// Cuts the underlay between two hosts both ways, or heals it.
    func cutLink(_ first: ClusterHost, _ second: ClusterHost, _ cut: Bool) throws

    // MARK: Containers and traffic

    /// A container behind `host`'s docker0, addressed from its subnet.env.
    func addContainer(on host: ClusterHost) throws -> ClusterContainer
    func removeContainer(_ container: ClusterContainer) throws
    /// One echo request; waits up to `wait` for the answer.
    func ping(from container: ClusterContainer, to address: IPv4Address, wait: Duration) throws -> PingResult
    /// One ICMPv6 echo request (dual-stack); the reply's hop limit as its ttl.
    func ping(from container: ClusterContainer, to address: IPv6Address, wait: Duration) throws -> PingResult
    /// One UDP datagram to a port where nothing listens; what came back.
    func udpProbe(from container: ClusterContainer, to address: IPv4Address) throws -> ProbeResult
    /// Echo requests every `interval` from now on, until stopped.
    func startPings(from container: ClusterContainer, to address: IPv4Address, interval: Duration) throws -> PingSeries
    /// What the series has seen so far.
    func pingsSoFar(_ series: PingSeries) throws -> PingSeriesOutcome
    func stopPings(_ series: PingSeries) throws -> PingSeriesOutcome
    /// A 5 s TCP stream between two containers; bits per second received (`.iperf3`).
    func iperf(from container: ClusterContainer, to target: ClusterContainer) throws -> Double

    /// `count` UDP datagrams carrying `payload` to `host`'s udp backend port, from `peer`'s
    /// public address, or with `peer` nil from an underlay address that is no peer's.
    func sendDatagrams(to host: ClusterHost, from peer: ClusterHost?, _ payload: [UInt8], count: Int) throws
    /// How many datagrams `host`'s udp backend dropped for `reason` (`malformed`,
    /// `not_from_peer`, `oversized`, …), as its counters say.
    func dropCount(_ reason: String, on host: ClusterHost) throws -> Int

    // MARK: Time

    /// Lets a stretch of the story pass (an outage, a cut): not a wait for something.
    func pass(_ duration: Duration, _ what: String) throws
    /// Polls `condition` until it holds; throws `ScenarioFailure` after `timeout`.
    func waitUntil(_ what: String, timeout: Duration, _ condition: () throws -> Bool) throws

    /// After the story and its outcome: the world's own closing checks (the simulator's
    /// invariants).
    func finish(_ run: ScenarioRun) throws
}

extension ClusterHarness {
    public func finish(_ run: ScenarioRun) throws {}

    public func putKeys(_ entries: [(key: String, value: String)]) throws {
        for entry in entries { try putKey(entry.key, entry.value) }
    }
}
