import AgentCore

/// The IPv6 half of a dual-stack network's data path: docker0's IPv6 subnet, the kernel
/// backends' IPv6 routes, neighbours and forwarding entries (`flannel-v6.<VNI>`, host-gw via
/// the peer's IPv6 address), over the same switch as the IPv4 underlay.
extension SimWorld {
    /// One ICMPv6 echo request from `container` (on `host`) to `destination`.
    public func ping(from host: SimHost, container: Int = 0, to destination: IPv6Address,
                     timeout: Duration = .seconds(2)) -> PingOutcome {
        guard container < host.containers.count, let source = host.containers[container].ipv6 else { return .timeout }
        traffic.pingSequence &+= 1
        traffic.pingOutcomes.removeAll()
        let identity = PingIdentity(identifier: 20000 + UInt16(truncatingIfNeeded: host.index), sequence: traffic.pingSequence)
        let packet = SimPacketIPv6.echo(request: true, from: source, to: destination, identifier: identity.identifier, sequence: identity.sequence)
        scheduler.schedule(after: .microseconds(5)) { [unowned self] in ipv6HostReceive(host, packet, from: .bridge) }
        run(until: { traffic.pingOutcomes[identity] != nil }, timeout: timeout)
        let outcome = traffic.pingOutcomes.removeValue(forKey: identity) ?? .timeout
        record("ping -6 \(host.containers[container].name) \(source) -> \(destination): \(outcome)")
        return outcome
    }

    /// A host's kernel receiving an IPv6 packet from docker0 or from the underlay.
    func ipv6HostReceive(_ host: SimHost, _ packet: [UInt8], from ingress: Ingress) {
        var packet = packet
        let destination = SimPacketIPv6.destination(packet)
        if let bridge = host.ipv6Bridge, bridge.contains(destination) {
            if ingress != .bridge {
                guard SimPacketIPv6.forward(&packet) else { return drop(host, "hop limit reached in the kernel") }
            }
            guard let container = host.containers.first(where: { $0.ipv6 == destination }) else { return drop(host, "no container \(destination)") }
            scheduler.schedule(after: .microseconds(5)) { [unowned self] in ipv6ContainerReceive(host, container, packet) }
        } else if let route = host.kernelRoute(for: destination) {
            guard SimPacketIPv6.forward(&packet) else { return drop(host, "hop limit reached in the kernel") }
            switch SimKernelHop(route: route, tables: host.ipv6KernelTables, eth0: host.eth0, vxlan: host.ipv6VXLAN) {
            case let .routed(gateway): underlaySend(from: host, to: gateway, .routedIPv6(packet))
            case let .vxlan(device, mac, peer): underlaySend(from: host, to: peer, .vxlanIPv6(vni: device.vni, port: device.port, mac: mac, packet))
            case let .dropped(reason): drop(host, reason)
            }
        } else {
            drop(host, "no route to \(destination)")
        }
    }

    /// A vxlan datagram for `flannel-v6.<VNI>`.
    func ipv6VXLANReceive(_ host: SimHost, vni: Int, port: Int, mac: MACAddress, _ packet: [UInt8]) {
        guard let device = host.ipv6VXLAN, device.vni == vni, device.port == port else {
            return drop(host, "udp \(port): no IPv6 vxlan device for VNI \(vni)")
        }
        guard device.mac == mac else { return drop(host, "\(device.device.name): frame for \(mac), not ours") }
        ipv6HostReceive(host, packet, from: .tunnel)
    }

    func ipv6ContainerReceive(_ host: SimHost, _ container: SimHost.Container, _ packet: [UInt8]) {
        guard let echo = SimPacketIPv6.echo(packet), let address = container.ipv6 else { return }
        if echo.type == 128 {
            let reply = SimPacketIPv6.echo(request: false, from: address, to: SimPacketIPv6.source(packet),
                                           identifier: echo.identifier, sequence: echo.sequence)
            scheduler.schedule(after: .microseconds(5)) { [unowned self] in ipv6HostReceive(host, reply, from: .bridge) }
        } else {
            traffic.pingOutcomes[PingIdentity(identifier: echo.identifier, sequence: echo.sequence)] = .reply(ttl: SimPacketIPv6.hopLimit(packet))
        }
    }
}

extension SimWorld.UnderlayFrame {
    var isVXLAN: Bool {
        switch self {
        case .vxlan, .vxlanIPv6: true
        case .udp, .routed, .routedIPv6, .wireguard: false
        }
    }

    var innerLength: Int {
        switch self {
        case let .udp(bytes), let .routed(bytes), let .routedIPv6(bytes): bytes.count
        case let .vxlan(_, _, _, bytes), let .vxlanIPv6(_, _, _, bytes): bytes.count
        case let .wireguard(frame): frame.length
        }
    }
}
