import AgentCore

/// The global invariants, judged once faults have healed and the settle time has passed:
/// every running agent holds a subnet of its own that etcd says is its; every agent's routes
/// are exactly the other live leases (nothing missing, nothing stale), in its proxy (udp) or
/// in the kernel's tables (vxlan, host-gw: the diff from what is there to what the leases
/// need is empty); every pair of containers on hosts with running agents can ping.
extension SimWorld {
    public func checkSettled(pings: Bool = true) {
        guard violations.isEmpty else { return }
        // The leases agents may use: a hostile writer's /25 or /16 is no one's route.
        let listing = etcd.listLeases(layout: layout)
        let live = (ledgerScreen?.screen(listing) ?? listing).records
        let running = hosts.filter { $0.agent != nil }
        var holders: [IPv4Network: String] = [:]
        var ipv6Holders: [IPv6Network: String] = [:]
        for host in running {
            guard let agent = host.agent, let held = agent.held else {
                if host.agent?.machine.lease?.isFailed != true { violation("\(host.name)'s agent runs but holds no lease") }
                continue
            }
            let subnet = held.key.subnets
            if let ipv4 = held.key.ipv4 {
                if let other = holders[ipv4] { violation("\(host.name) and \(other) both hold \(ipv4)") }
                holders[ipv4] = host.name
            }
            if let ipv6 = held.key.ipv6 {
                if let other = ipv6Holders[ipv6] { violation("\(host.name) and \(other) both hold \(ipv6)") }
                ipv6Holders[ipv6] = host.name
            }
            let record = live.first { $0.key == held.key }
            if record?.attributes.publicIP != host.publicIP {
                violation("\(host.name) holds \(subnet) but etcd says \(record.map { "it is \($0.attributes.publicIP)'s" } ?? "it is free")")
            }
            let others = live.filter { $0.key != held.key }
            if let peerSet = agent.wireGuardPeerSet {
                // flannel-wg's peers must be exactly what the other live leases need.
                let wanted = peerSet.wanted(others.map { Peer(key: $0.key, attributes: $0.attributes) })
                let plan = WireGuardPeerPlan(current: host.wireguard?.state.peers ?? [], wanted: wanted)
                if host.wireguard == nil || !plan.isEmpty {
                    violation("\(host.name)'s flannel-wg differs from etcd: \(host.wireguard == nil ? "no device" : "would remove \(plan.removals.count), set \(plan.updates.map(\.description).prefix(3))")")
                }
            } else if let planner = agent.kernelPlanner {
                // The kernel's entries must be exactly what the other live leases need.
                let plan = planner.plan(peers: others.map { Peer(key: $0.key, attributes: $0.attributes) }, current: host.kernelTables)
                if !plan.isEmpty {
                    let steps = plan.removals + plan.additions.flatMap(\.steps)
                    violation("\(host.name)'s kernel entries differ from etcd: would \(steps.prefix(4).map(\.description).joined(separator: "; "))")
                }
                if let ipv6Planner = agent.ipv6KernelPlanner {
                    let plan = ipv6Planner.plan(peers: others.map { Peer(key: $0.key, attributes: $0.attributes) }, current: host.ipv6KernelTables)
                    if !plan.isEmpty {
                        let steps = plan.removals + plan.additions.flatMap(\.steps)
                        violation("\(host.name)'s IPv6 kernel entries differ from etcd: would \(steps.prefix(4).map(\.description).joined(separator: "; "))")
                    }
                }
            } else {
                // What the proxy forwards with must match etcd too.
                let misrouted = others.filter { record in record.key.ipv4.map { agent.routes.publicIP(for: $0.address) } != record.attributes.publicIP }
                if !misrouted.isEmpty || agent.routes.count != others.count {
                    violation("\(host.name)'s proxy routes differ from etcd (\(agent.routes.count) routes, \(others.count) leases; wrong: \(misrouted.map(\.key.subnets)))")
                }
            }
            if host.bridge != nil, host.bridge != held.key.ipv4 {
                violation("\(host.name)'s docker0 is \(host.bridge!) but its lease is \(subnet)")
            }
            if host.ipv6Bridge != nil, host.ipv6Bridge != held.key.ipv6 {
                violation("\(host.name)'s docker0 has \(host.ipv6Bridge!) but its lease's IPv6 subnet is \(held.key.ipv6.map { "\($0)" } ?? "none")")
            }
            let expected = Set(live.filter { $0.key != held.key }.compactMap(\.key.ipv4))
            let actual = Set(agent.table.peers.compactMap(\.subnet))
            let missing = expected.subtracting(actual).sorted(), stale = actual.subtracting(expected).sorted()
            if !missing.isEmpty || !stale.isEmpty {
                violation("\(host.name)'s routes differ from etcd: missing \(missing.map(\.description)), stale \(stale.map(\.description))")
            }
        }
        guard pings, violations.isEmpty else { return }
        for source in running where source.agent?.held != nil {
            for target in running where target !== source && target.agent?.held != nil {
                for (index, container) in source.containers.enumerated() {
                    guard let destination = target.containers.first else { continue }
                    guard violations.isEmpty else { return }
                    let outcome = ping(from: source, container: index, to: destination.address)
                    if case .reply = outcome {} else {
                        violation("\(container.name) -> \(destination.name) (\(destination.address)): \(outcome)")
                    }
                    guard container.ipv6 != nil, let ipv6 = destination.ipv6 else { continue }
                    let ipv6Outcome = ping(from: source, container: index, to: ipv6)
                    if case .reply = ipv6Outcome {} else {
                        violation("\(container.name) -> \(destination.name) over IPv6 (\(ipv6)): \(ipv6Outcome)")
                    }
                }
            }
        }
    }
}
