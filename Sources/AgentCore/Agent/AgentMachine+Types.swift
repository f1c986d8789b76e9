extension AgentMachine {
    /// What the agent is told: the answers to its actions, timers firing, a stop request.
    public enum Event: Sendable {
        case start
        /// A stop was asked for (SIGTERM, SIGINT): `signal` names it for the log.
        case stop(signal: String)
        case timerFired(Timer)
        // The network config.
        case configRead(EtcdAPI, Result<String?, EtcdError>)
        // The backend, prepared before the lease (vxlan: the device whose MAC the lease carries).
        /// Ready; `device` identifies the device the backend asked for (vxlan's VtepMAC,
        /// wireguard's public key), `ipv6Device` its IPv6 device (dual-stack).
        case backendPrepared(device: BackendDeviceIdentity?, ipv6Device: BackendDeviceIdentity? = nil)
        case backendFailed(String)
        // Answers to the lease machine's registry calls.
        case leasesListed(LeaseListing)
        case leaseCreated(modRevision: Int64?)
        case leaseUpdated(LeaseUpdateOutcome)
        case leaseDeleted
        case leaseCallFailed(String)
        // The data path and what goes with it.
        case dataPathStarted
        /// Starting failed, or the running data path broke (a proxy thread): the agent exits
        /// so that the service manager restarts it.
        case dataPathFailed(String)
        case subnetFileFailed(String)
        case trafficRulesKept(restored: Int, summary: String)
        case trafficRulesFailed(String)
        // Peers: the listing (at start, after compaction) and the watch.
        case peersListed(LeaseListing)
        case peersListFailed(EtcdError)
        case watchDelivered(LeaseEventBatch)
        /// The watch ended: `error` is why (nil: the stream ended without one).
        case watchBroken(EtcdError?)
    }

    /// What the agent asks its world to do, in order.
    public enum Action: Equatable, Sendable {
        case log(LogLevel, String)
        case observe(Observation)
        /// nil: ready; else what the agent is waiting for (`/readyz`).
        case setReadiness(String?)
        /// Tell the service manager the agent is ready (systemd's READY=1).
        case notifyReady
        case setTimer(Timer, at: Timestamp)
        // etcd.
        case readConfig(EtcdAPI)
        /// The config came from `api`: close the other API's client.
        case useRegistry(EtcdAPI)
        case lease(LeaseCall)
        case listPeers
        /// (Re)open the lease watch after `revision`; replaces any watch still open.
        case watchPeers(after: Int64)
        // The host.
        /// Prepare the backend; make `device` (and `ipv6Device`, dual-stack) first if it asks
        /// for one (its MAC goes into the lease).
        case prepareBackend(BackendConfig, device: BackendDevice?, ipv6Device: BackendDevice? = nil, plan: SubnetPlan<IPv4Address>?,
                            ipv6Plan: SubnetPlan<IPv6Address>? = nil)
        case startDataPath(OwnSubnets)
        case moveDataPath(to: OwnSubnets)
        /// A peer came, changed or went (the daemon logs it, and says if the backend cannot use it).
        case peer(PeerNews)
        /// The peers changed: program the data path with `table.peers`. (Read when carried
        /// out, so that a large cluster's churn builds no list per change.)
        case programPeers
        /// Every `dataPathTick`: udp drop summary, kernel backends' resync with `table.peers`.
        case tickDataPath
        case stopDataPath
        /// Remove the rules the other mode (iptables or nftables) left behind.
        case removeOtherTrafficRules(nftables: Bool, subnets: OwnSubnets)
        case keepTrafficRules(nftables: Bool, subnets: OwnSubnets, quiet: Bool)
        case writeSubnetFile(SubnetFile)
        /// The agent is done: stop everything still running, then end as `exit` says.
        case exit(Exit)
    }

    public enum PeerNews: Equatable, Sendable {
        case added(Peer)
        case changed(from: Peer, to: Peer)
        case removed(Peer)
    }

    /// A registry call the lease machine asked for; each is answered with a lease event.
    public enum LeaseCall: Equatable, Sendable {
        case list
        case create(SubnetKey, LeaseAttributes, ttl: Duration)
        case update(SubnetKey, LeaseAttributes, ttl: Duration?, expectedModRevision: Int64)
        case delete(SubnetKey, expectedModRevision: Int64)
    }

    /// One timer per purpose; setting one replaces the previous of the same purpose.
    public enum Timer: Hashable, Sendable, CaseIterable {
        case configRetry
        /// The lease machine's renewal or retry (one at a time, as it schedules them).
        case lease
        case peersListRetry
        case watchRetry
        case trafficRetry
        case trafficResync
        case dataPathTick
    }

    public enum LogLevel: Int, Comparable, Sendable {
        case debug, info, notice, warning, error
        public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// What `/metrics` counts (and the simulator records).
    public enum Observation: Equatable, Sendable {
        case leaseAcquired(HeldLease)
        case leaseRenewed(HeldLease)
        case leaseLost
        case drifted(from: IPv4Network, to: IPv4Network)
        /// The IPv6 half of our lease is not the one we had.
        case ipv6Drifted(from: IPv6Network, to: IPv6Network)
        case watchInterrupted
        case watchRelisted
        case peerCount(Int)
        /// Lease entries skipped (bad key or value, or a key the plan could not hand out).
        case leasesIgnored(MalformedLease.Kind, count: Int)
    }

    public enum Exit: Equatable, Sendable {
        /// Stopped as asked: exit 0, the lease kept until its TTL runs out.
        case stopped
        /// Cannot go on: exit non-zero with this message, which says what to do.
        case failed(String)
    }
}
