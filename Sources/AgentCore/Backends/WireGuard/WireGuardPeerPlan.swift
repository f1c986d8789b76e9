/// The peer changes that turn a device's peers into the wanted ones: stale peers removed,
/// missing or different ones set whole (allowed IPs replaced), matching ones left alone so
/// their sessions and counters carry on.
public struct WireGuardPeerPlan: Equatable, Sendable {
    public var removals: [WireGuardKey]
    public var updates: [WireGuardPeerConfig]

    public init(removals: [WireGuardKey] = [], updates: [WireGuardPeerConfig] = []) {
        self.removals = removals
        self.updates = updates
    }

    public init(current: [WireGuardDeviceState.Peer], wanted: [WireGuardPeerConfig]) {
        var byKey: [WireGuardKey: WireGuardPeerConfig] = [:]
        for peer in wanted { byKey[peer.publicKey] = peer }
        removals = current.map(\.publicKey).filter { byKey[$0] == nil }
        let have = Dictionary(current.map { ($0.publicKey, $0) }, uniquingKeysWith: { first, _ in first })
        updates = wanted.filter { peer in !(have[peer.publicKey]?.matches(peer) ?? false) }
    }

    public var isEmpty: Bool { removals.isEmpty && updates.isEmpty }
}
