import AgentCore

/// The data path: containers, each host's kernel (docker0, forwarding, the flannel0 route,
/// the kernel backends' routes, neighbours, forwarding entries and vxlan device), the
/// agent's udp proxy running the real `UDPEncapsulation` on the real bytes, and the underlay
/// switch with its faults.
extension SimWorld {
    public enum PingOutcome: Equatable, Sendable, CustomStringConvertible {
        case reply(ttl: UInt8)
        case unreachable(code: UInt8, from: IPv4Address)
        case timeout

        public var description: String {
            switch self {
            case let .reply(ttl): "reply ttl=\(ttl)"
            case let .unreachable(code, from): "unreachable (code \(code)) from \(from)"
            case .timeout: "timeout"
            }
        }
    }

    enum Ingress { case bridge, tunnel, underlay }

    /// What crosses the underlay switch.
    enum UnderlayFrame {
        /// The udp backend's datagram to port 8285 (the inner packet).
        case udp([UInt8])
        /// A vxlan datagram: VNI, destination port, inner destination MAC, inner packet.
        case vxlan(vni: Int, port: Int, mac: MACAddress, [UInt8])
        /// An IP packet routed to the host as next hop (host-gw, DirectRouting).
        case routed([UInt8])
        /// The IPv6 half's: a vxlan datagram from `flannel-v6.<VNI>`, an IPv6 packet routed.
        case vxlanIPv6(vni: Int, port: Int, mac: MACAddress, [UInt8])
        case routedIPv6([UInt8])
        /// Between two WireGuard devices (UDP 51820): a handshake message or a sealed packet.
        case wireguard(WireGuardFrame)
    }

    /// One echo request from `container` (on `host`) to `destination`; runs the world until
    /// the answer comes or `timeout` passes.
    public func ping(from host: SimHost, container: Int = 0, to destination: IPv4Address,
                     timeout: Duration = .seconds(2)) -> PingOutcome {
        guard container < host.containers.count else { return .timeout }
        let source = host.containers[container]
        traffic.pingSequence &+= 1
        traffic.pingOutcomes.removeAll()  // late or duplicated answers to earlier probes
        let identity = PingIdentity(identifier: UInt16(truncatingIfNeeded: host.index), sequence: traffic.pingSequence)
        let packet = SimPacket.echo(request: true, from: source.address, to: destination,
                                    identifier: identity.identifier, sequence: identity.sequence)
        scheduler.schedule(after: .microseconds(5)) { [unowned self] in hostReceive(host, packet, from: .bridge) }
        run(until: { traffic.pingOutcomes[identity] != nil }, timeout: timeout)
        let outcome = traffic.pingOutcomes.removeValue(forKey: identity) ?? .timeout
        record("ping \(source.name) \(source.address) -> \(destination): \(outcome)")
        return outcome
    }

    /// A UDP datagram from `container` to `destination`: `.unreachable` when an ICMP error
    /// about it comes back, `.timeout` otherwise (nothing answers UDP probes).
    public func probeUDP(from host: SimHost, container: Int = 0, to destination: IPv4Address,
                         timeout: Duration = .seconds(1)) -> PingOutcome {
        guard container < host.containers.count else { return .timeout }
        let source = host.containers[container]
        traffic.pingSequence &+= 1
        traffic.pingOutcomes.removeAll()
        let identity = PingIdentity(identifier: 40000 + UInt16(truncatingIfNeeded: host.index), sequence: traffic.pingSequence)
        let packet = SimPacket.udp(from: source.address, to: destination, sourcePort: identity.identifier, destinationPort: identity.sequence)
        scheduler.schedule(after: .microseconds(5)) { [unowned self] in hostReceive(host, packet, from: .bridge) }
        run(until: { traffic.pingOutcomes[identity] != nil }, timeout: timeout)
        let outcome = traffic.pingOutcomes.removeValue(forKey: identity) ?? .timeout
        record("udp probe \(source.name) \(source.address) -> \(destination): \(outcome)")
        return outcome
    }

    /// A datagram from anyone (`sender`:`port`) to `host`'s UDP port 8285, e.g. garbage or a
    /// forged packet.
    public func sendDatagram(to host: SimHost, from sender: IPv4Address, port: UInt16 = SimWorld.udpPort, _ payload: [UInt8]) {
        scheduler.schedule(after: options.underlayLatency) { [unowned self] in udpReceive(host, from: sender, port: port, payload) }
    }

    /// A host's kernel receiving an IPv4 packet from docker0 or from flannel0.
    func hostReceive(_ host: SimHost, _ packet: [UInt8], from ingress: Ingress) {
        var packet = packet
        let destination = SimPacket.destination(packet)
        if let bridge = host.bridge, bridge.contains(destination) {
            // Container to container on one host is bridged (no TTL change); from flannel0 or eth0 it is routed.
            if ingress != .bridge {
                guard SimPacket.forward(&packet) else { return drop(host, "ttl expired in the kernel") }
            }
            guard let container = host.container(at: destination) else { return drop(host, "no container \(destination)") }
            scheduler.schedule(after: .microseconds(5)) { [unowned self] in containerReceive(host, container, packet) }
        } else if let tunnel = host.tunnel, tunnel.network.contains(destination), let agent = host.agent {
            // From flannel0 too (a peer with a stale route): Linux routes it back out flannel0.
            if let peer = proxyReads(&packet, on: host, agent: agent, tunnel: tunnel) {
                underlaySend(from: host, to: peer, .udp(packet))
            }
        } else if let route = host.kernelRoute(for: destination) {
            // Kernel backends: forwarded by the kernel, agent or no agent.
            guard SimPacket.forward(&packet) else { return drop(host, "ttl expired in the kernel") }
            switch SimKernelHop(route: route, tables: host.kernelTables, eth0: host.eth0, vxlan: host.vxlan) {
            case let .routed(gateway): underlaySend(from: host, to: gateway, .routed(packet))
            case let .vxlan(device, mac, peer): underlaySend(from: host, to: peer, .vxlan(vni: device.vni, port: device.port, mac: mac, packet))
            case let .dropped(reason): drop(host, reason)
            }
        } else if let network = host.wireguard?.network, network.contains(destination) {
            // `<network> dev flannel-wg`: forwarded into the device, agent or no agent.
            guard SimPacket.forward(&packet) else { return drop(host, "ttl expired in the kernel") }
            wireGuardSend(host, packet)
        } else {
            drop(host, "no route to \(destination)")
        }
    }

    /// The kernel routes `packet` into flannel0 (TTL down) and the proxy reads it: the real
    /// outbound code on the real bytes. The peer to send it to; an ICMP answer goes back into
    /// flannel0 and a drop is recorded here (nil).
    func proxyReads(_ packet: inout [UInt8], on host: SimHost, agent: SimAgent, tunnel: SimHost.Tunnel) -> IPv4Address? {
        guard !host.isPaused(at: now) else {
            drop(host, "flannel0: the agent is paused")
            return nil
        }
        guard SimPacket.forward(&packet) else {
            drop(host, "ttl expired in the kernel")
            return nil
        }
        var reply = [UInt8](repeating: 0, count: 128)
        let verdict = packet.withUnsafeMutableBytes { bytes in
            reply.withUnsafeMutableBytes { UDPEncapsulation.outbound(bytes, routes: agent.routes, tunAddress: tunnel.address, reply: $0) }
        }
        switch verdict {
        case let .send(peer):
            return peer
        case let .reply(length):
            let icmp = Array(reply[0..<length])
            scheduler.schedule(after: .microseconds(5)) { [unowned self] in hostReceive(host, icmp, from: .tunnel) }
        case let .drop(reason):
            drop(host, "proxy: \(reason.rawValue)")
        }
        return nil
    }

    /// A vxlan datagram arriving at a host: decapsulated by a device with that VNI and port
    /// whose MAC the inner frame is addressed to, then routed like any packet.
    func vxlanReceive(_ host: SimHost, vni: Int, port: Int, mac: MACAddress, _ packet: [UInt8]) {
        guard let device = host.vxlan, device.vni == vni, device.port == port else {
            return drop(host, "udp \(port): no vxlan device for VNI \(vni)")
        }
        guard device.mac == mac else { return drop(host, "\(device.device.name): frame for \(mac), not ours") }
        hostReceive(host, packet, from: .tunnel)
    }

    /// The underlay: one switch; faults decide loss, duplication, delay and partitions.
    func underlaySend(from host: SimHost, to publicIP: IPv4Address, _ frame: UnderlayFrame) {
        if options.tracesDetail {
            switch frame {
            case let .udp(payload): record("\(host.name) eth0 \(host.publicIP).8285 > \(publicIP).8285: UDP, length \(payload.count)")
            case let .vxlan(vni, port, _, payload): record("\(host.name) eth0 \(host.publicIP) > \(publicIP).\(port): VXLAN vni \(vni), inner length \(payload.count)")
            case let .routed(packet): record("\(host.name) eth0 \(SimPacket.source(packet)) > \(SimPacket.destination(packet)) via \(publicIP): IP, length \(packet.count)")
            case let .wireguard(frame): record("\(host.name) eth0 \(host.publicIP).\(frame.sourcePort) > \(publicIP).\(frame.destinationPort): UDP, length \(frame.length)")
            case .vxlanIPv6, .routedIPv6: break
            }
        }
        transmit(from: host, to: hosts.first { $0.publicIP == publicIP }, frame)
    }

    /// The same switch carrying the IPv6 underlay (2001:db8::/64).
    func underlaySend(from host: SimHost, to publicIPv6: IPv6Address, _ frame: UnderlayFrame) {
        if options.tracesDetail {
            record("\(host.name) eth0 \(host.publicIPv6) > \(publicIPv6): \(frame.isVXLAN ? "VXLAN" : "IP6"), length \(frame.innerLength)")
        }
        transmit(from: host, to: hosts.first { $0.publicIPv6 == publicIPv6 }, frame)
    }

    private func transmit(from host: SimHost, to target: SimHost?, _ frame: UnderlayFrame) {
        statistics.datagramsSent += 1
        guard let target, !faults.blockedLinks.contains(.init(from: host.index, to: target.index)) else {
            statistics.datagramsLost += 1
            return
        }
        if faults.loss > 0, Double.random(in: 0..<1, using: &random) < faults.loss {
            statistics.datagramsLost += 1
            return
        }
        let copies = faults.duplication > 0 && Double.random(in: 0..<1, using: &random) < faults.duplication ? 2 : 1
        for _ in 0..<copies {
            var delay = options.underlayLatency
            if faults.jitter > .zero { delay += uniform(0...(Double(faults.jitter.components.attoseconds) / 1e18 + Double(faults.jitter.components.seconds))) }
            scheduler.schedule(after: delay) { [unowned self] in
                switch frame {
                case let .udp(payload): udpReceive(target, from: host.publicIP, port: Self.udpPort, payload)
                case let .vxlan(vni, port, mac, packet): vxlanReceive(target, vni: vni, port: port, mac: mac, packet)
                case let .routed(packet): hostReceive(target, packet, from: .underlay)
                case let .vxlanIPv6(vni, port, mac, packet): ipv6VXLANReceive(target, vni: vni, port: port, mac: mac, packet)
                case let .routedIPv6(packet): ipv6HostReceive(target, packet, from: .underlay)
                case let .wireguard(frame): wireGuardReceive(target, from: host.publicIP, frame)
                }
            }
        }
    }

    /// The udp backend's port: every simulated agent listens and sends on it.
    public static let udpPort: UInt16 = 8285

    /// A datagram on the agent's UDP port 8285: the real inbound code, then into flannel0.
    func udpReceive(_ host: SimHost, from sender: IPv4Address, port: UInt16, _ payload: [UInt8]) {
        guard let agent = host.agent, let tunnel = host.tunnel else { return drop(host, "udp 8285: nobody listening") }
        guard !host.isPaused(at: now) else { return drop(host, "udp 8285: the agent is paused") }
        var packet = payload
        let verdict = packet.withUnsafeMutableBytes { UDPEncapsulation.inbound($0, from: sender, port: port, routes: agent.routes,
                                                                                    ownSubnet: tunnel.subnet, peerPort: Self.udpPort, mtu: tunnel.mtu) }
        switch verdict {
        case .deliver: options.udpOffloads ? joinOrDeliver(host, packet) : hostReceive(host, packet, from: .tunnel)
        case let .drop(reason): drop(host, "proxy: \(reason.rawValue)")
        }
    }

    func containerReceive(_ host: SimHost, _ container: SimHost.Container, _ packet: [UInt8]) {
        if packet[9] == 17 { return record("\(container.name) received a UDP datagram from \(SimPacket.source(packet))") }
        if packet[9] == 6 { return streamReceive(container, packet) }
        guard let type = SimPacket.icmpType(packet), let identity = SimPacket.echoIdentity(packet) else { return }
        switch type {
        case 8:
            let reply = SimPacket.echo(request: false, from: container.address, to: SimPacket.source(packet),
                                       identifier: identity.identifier, sequence: identity.sequence)
            scheduler.schedule(after: .microseconds(5)) { [unowned self] in hostReceive(host, reply, from: .bridge) }
        case 0:
            traffic.pingOutcomes[PingIdentity(identifier: identity.identifier, sequence: identity.sequence)] = .reply(ttl: SimPacket.ttl(packet))
        case 3:
            traffic.pingOutcomes[PingIdentity(identifier: identity.identifier, sequence: identity.sequence)] =
                .unreachable(code: SimPacket.icmpCode(packet) ?? 0, from: SimPacket.source(packet))
        default:
            break
        }
    }

    func drop(_ host: SimHost, _ reason: String) {
        statistics.drops[reason, default: 0] += 1
        record("\(host.name) drop: \(reason)")
    }
}

struct PingIdentity: Hashable {
    var identifier: UInt16
    var sequence: UInt16
}
