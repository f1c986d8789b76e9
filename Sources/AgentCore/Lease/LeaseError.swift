/// Why the agent cannot hold a lease. Fatal for the agent: it exits with this message.
public enum LeaseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Every subnet between SubnetMin and SubnetMax is taken.
    case networkFull(plan: SubnetPlan<IPv4Address>, leaseCount: Int)
    /// Every IPv6 subnet between IPv6SubnetMin and IPv6SubnetMax is taken.
    case ipv6NetworkFull(plan: SubnetPlan<IPv6Address>, leaseCount: Int)
    /// Other hosts won the race for every subnet we tried, this many times in a row.
    case tooManyConflicts(attempts: Int)
    /// A config with neither family (refused when read; here so that no path can crash on it).
    case noFamily

    public var description: String {
        switch self {
        case let .networkFull(plan, leaseCount):
            "network \(plan.network) is full: no free /\(plan.subnetLength) subnet between SubnetMin \(plan.subnetMin) and SubnetMax \(plan.subnetMax) (\(plan.capacity) subnets, \(leaseCount) leases exist); delete stale leases under the subnets prefix, or widen Network, SubnetMin/SubnetMax or lengthen SubnetLen"
        case let .ipv6NetworkFull(plan, leaseCount):
            "IPv6 network \(plan.network) is full: no free /\(plan.subnetLength) subnet between IPv6SubnetMin \(plan.subnetMin) and IPv6SubnetMax \(plan.subnetMax) (\(leaseCount) leases with an IPv6 subnet exist); delete stale leases under the subnets prefix, or widen IPv6Network, IPv6SubnetMin/IPv6SubnetMax or lengthen IPv6SubnetLen"
        case let .tooManyConflicts(attempts):
            "gave up acquiring a subnet: another host took the chosen subnet \(attempts) times in a row; check for agents sharing a public IP or a registry that rejects writes"
        case .noFamily:
            "the network config enables neither IPv4 nor IPv6; set EnableIPv4 or EnableIPv6 to true"
        }
    }
}
