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

    /// `setEndpoints`: the endpoint last set per peer. WireGuard moves a peer's endpoint to
    /// wherever its packets come from (NAT, another source address); a peer whose wanted
    /// endpoint is still the one we set keeps the one it roamed to, rather than being reset
    /// at every resync.
    public init(current: [WireGuardDeviceState.Peer], wanted: [WireGuardPeerConfig], setEndpoints: [WireGuardKey: String] = [:]) {
        var byKey: [WireGuardKey: WireGuardPeerConfig] = [:]
        for peer in wanted { byKey[peer.publicKey] = peer }
        removals = current.map(\.publicKey).filter { byKey[$0] == nil }
        let have = Dictionary(current.map { ($0.publicKey, $0) }, uniquingKeysWith: { first, _ in first })
        updates = wanted.filter { peer in
            guard var present = have[peer.publicKey] else { return true }
            if setEndpoints[peer.publicKey] == peer.endpoint { present.endpoint = peer.endpoint }
            return !present.matches(peer)
        }
    }

    public var isEmpty: Bool { removals.isEmpty && updates.isEmpty }

    /// The plan in pieces of at most `peers` peers each, removals first: one kernel message
    /// must stay well inside netlink's 64 KiB attribute lengths (a peer takes about 150 bytes).
    public func chunks(of peers: Int) -> [WireGuardPeerPlan] {
        let steps = removals.map { (WireGuardPeerPlan(removals: [$0])) } + updates.map { WireGuardPeerPlan(updates: [$0]) }
        guard steps.count > peers else { return [self] }
        return stride(from: 0, to: steps.count, by: peers).map { start in
            let piece = steps[start..<min(start + peers, steps.count)]
            return WireGuardPeerPlan(removals: piece.flatMap(\.removals), updates: piece.flatMap(\.updates))
        }
    }
}
