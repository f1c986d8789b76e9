/// The validated address plan of one family: the network, the length of each host's
/// subnet, and the range (`SubnetMin`...`SubnetMax`) that subnets are handed out from.
public struct SubnetPlan<Address: IPAddress>: Equatable, Sendable {
    public var network: IPNetwork<Address>
    public var subnetLength: Int
    public var subnetMin: Address
    public var subnetMax: Address

    /// Whether `subnet` may be held under this plan: right length, inside the network, on a
    /// boundary, between SubnetMin and SubnetMax. A lease that fails this is deleted and
    /// replaced at start-up.
    public func fits(_ subnet: IPNetwork<Address>) -> Bool {
        isLeaseSized(subnet)
            && subnet.address >= subnetMin
            && subnet.address <= subnetMax
    }

    /// Whether `subnet` is one this plan could hand out, wherever its range starts: the
    /// network's `SubnetLen`, inside the network. Only such keys are peers or occupy.
    public func isLeaseSized(_ subnet: IPNetwork<Address>) -> Bool {
        subnet.prefixLength == subnetLength && network.contains(subnet)
    }

    /// Number of subnets between SubnetMin and SubnetMax, saturating.
    public var capacity: Address.Bits {
        let step = Address.Bits(1) << (Address.bitWidth - subnetLength)
        return (subnetMax.bits - subnetMin.bits) / step + 1
    }

    /// Subnets from SubnetMin upwards that overlap none of `taken`, at most `limit` of them.
    /// `taken` must be sorted by address (the lease listing is); overlap is checked with a
    /// moving cursor, so the cost is the candidates visited plus the taken subnets.
    public func freeSubnets(excluding taken: [IPNetwork<Address>], limit: Int) -> [IPNetwork<Address>] {
        var result: [IPNetwork<Address>] = []
        var candidate: IPNetwork<Address>? = IPNetwork(address: subnetMin, prefixLength: subnetLength)
        var cursor = 0
        let sortedTaken = taken.sorted()
        while let current = candidate, current.address <= subnetMax, result.count < limit {
            // Skip taken subnets that end before this candidate begins.
            while cursor < sortedTaken.count, sortedTaken[cursor].lastAddress < current.address {
                cursor += 1
            }
            var clash = false
            var probe = cursor
            while probe < sortedTaken.count, sortedTaken[probe].address <= current.lastAddress {
                if sortedTaken[probe].overlaps(current) { clash = true; break }
                probe += 1
            }
            if !clash { result.append(current) }
            candidate = current.next()
        }
        return result
    }
}
