/// Where a lease's IPv6 subnet comes from: an IPv6-only network's pick, and a dual-stack
/// lease's IPv6 half beside its IPv4 subnet.
extension LeaseMachine {
    /// An IPv6-only network's lease: the subnet we had if it is free, else a random free one
    /// among the first candidates.
    mutating func createIPv6Only(taken: [IPv6Network], conflicts: Int, expected: ExpectedSubnets,
                                 using generator: inout some RandomNumberGenerator) -> [Action] {
        guard let ipv6Plan = configuration.ipv6Plan else { return fail(.noFamily) }
        if let wanted = expected.ipv6, ipv6Plan.fits(wanted), !taken.contains(where: { $0.overlaps(wanted) }) {
            return create(SubnetKey(ipv6Only: wanted), conflicts: conflicts, expected: expected)
        }
        let free = ipv6Plan.freeSubnets(excluding: taken, limit: configuration.candidateLimit)
        guard !free.isEmpty else { return fail(.ipv6NetworkFull(plan: ipv6Plan, leaseCount: taken.count)) }
        return create(SubnetKey(ipv6Only: free[Int.random(in: 0..<free.count, using: &generator)]), conflicts: conflicts, expected: expected)
    }

    /// The free IPv6 subnet at `ipv4`'s position in its network (`10.1.5.0/24` → `…:5::/64`), if any.
    static func ipv6Subnet(at ipv4: IPv4Network, plan: SubnetPlan<IPv4Address>, ipv6Plan: SubnetPlan<IPv6Address>,
                           taken: [IPv6Network]) -> IPv6Network? {
        let index = UInt128((ipv4.address.bits - plan.network.address.bits) >> UInt32(IPv4Address.bitWidth - plan.subnetLength))
        let shift = IPv6Address.bitWidth - ipv6Plan.subnetLength
        guard index.leadingZeroBitCount >= shift, let address = ipv6Plan.network.address.advanced(by: index << UInt128(shift)) else { return nil }
        let aligned = IPv6Network(address: address, prefixLength: ipv6Plan.subnetLength)
        guard ipv6Plan.fits(aligned), !taken.contains(where: { $0.overlaps(aligned) }) else { return nil }
        return aligned
    }

    /// The IPv6 half of a new dual-stack lease: the one we had if it is free; else the one at
    /// the same position in its network as the IPv4 subnet (`10.1.5.0/24` → `fd00:0:0:5::/64`),
    /// so that two hosts racing for one IPv4 subnet race for one key, and the create's
    /// "only if absent" decides; else a random free one among the first candidates.
    static func ipv6Subnet(for ipv4: IPv4Network, plan: SubnetPlan<IPv4Address>, ipv6Plan: SubnetPlan<IPv6Address>,
                           wanted: IPv6Network?, taken: [IPv6Network], limit: Int,
                           using generator: inout some RandomNumberGenerator) -> IPv6Network? {
        func isFree(_ subnet: IPv6Network) -> Bool {
            ipv6Plan.fits(subnet) && !taken.contains(where: { $0.overlaps(subnet) })
        }
        if let wanted, isFree(wanted) { return wanted }
        if let aligned = ipv6Subnet(at: ipv4, plan: plan, ipv6Plan: ipv6Plan, taken: taken) { return aligned }
        let free = ipv6Plan.freeSubnets(excluding: taken, limit: limit)
        guard !free.isEmpty else { return nil }
        return free[Int.random(in: 0..<free.count, using: &generator)]
    }
}
