/// A peer table's leases, shareable between tables (copy on write) and carrying an
/// order-independent fingerprint of its content, kept up to date on every write, so that
/// equal stores can be found without comparing them entry by entry.
public final class LeaseStore: @unchecked Sendable {
    // Mutated only through a uniquely referenced store (PeerTable checks), so no other
    // holder ever sees a change: what makes the class safe to share across tasks.
    private(set) var leases: [SubnetKey: LeaseAttributes]
    private(set) var fingerprint: UInt64 = 0

    init(_ leases: [SubnetKey: LeaseAttributes] = [:]) {
        self.leases = leases
        for (key, value) in leases { fingerprint &+= Self.entryHash(key, value) }
    }

    private init(copying other: LeaseStore) {
        leases = other.leases
        fingerprint = other.fingerprint
    }

    func copy() -> LeaseStore { LeaseStore(copying: self) }

    func set(_ key: SubnetKey, _ value: LeaseAttributes?) {
        if let old = leases[key] { fingerprint &-= Self.entryHash(key, old) }
        leases[key] = value
        if let value { fingerprint &+= Self.entryHash(key, value) }
    }

    /// A 64-bit mix of one entry; summed, the order of entries does not matter.
    static func entryHash(_ key: SubnetKey, _ value: LeaseAttributes) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(key)
        hasher.combine(value.publicIP)
        hasher.combine(value.publicIPv6)
        hasher.combine(value.backendType)
        hasher.combine(value.backendData?.encoded)
        hasher.combine(value.backendV6Data?.encoded)
        let hash = UInt64(bitPattern: Int64(hasher.finalize()))
        // splitmix64's finaliser: spreads Hasher's output before the entries are summed.
        var mixed = hash &+ 0x9E37_79B9_7F4A_7C15
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
