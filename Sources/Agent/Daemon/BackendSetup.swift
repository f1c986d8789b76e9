import Logging

/// The configured backend, prepared before the lease is taken: its MTU, what our lease
/// says about it, and (vxlan) the device whose MAC the lease carries.
struct BackendSetup {
    let config: BackendConfig
    let mtu: Int
    let leaseAttributes: LeaseAttributes
    let kernel: KernelBackend?
    let logger: Logger

    /// A backend that cannot run on this host as configured; says what to change.
    struct Refusal: Error, CustomStringConvertible {
        var description: String
    }

    static func prepare(_ config: BackendConfig, external: NetworkInterface, publicIP: IPv4Address,
                        network: IPv4Network, subnetLength: Int, logger: Logger) throws -> BackendSetup {
        switch config {
        case .udp:
            return BackendSetup(config: config, mtu: external.mtu - 28, leaseAttributes: LeaseAttributes(publicIP: publicIP),
                                kernel: nil, logger: logger)
        case .hostGW:
            // Peers send straight to our PublicIP as the next hop: it must be this interface's own address.
            guard publicIP == external.address else {
                throw Refusal(description: "host-gw backend: the public IP \(publicIP) is not \(external.name)'s address \(external.address) (NAT, or --public-ip set to another address); host-gw needs peers to reach this host directly at its interface address: drop --public-ip, or use the vxlan backend")
            }
            let kernel = try KernelBackend(netlink: try RouteNetlink(), externalName: external.name, externalAddress: external.address,
                                           network: network, subnetLength: subnetLength, vxlan: nil, logger: logger)
            return BackendSetup(config: config, mtu: external.mtu, leaseAttributes: kernel.leaseAttributes(publicIP: publicIP),
                                kernel: kernel, logger: logger)
        case let .vxlan(vni, port, directRouting, configuredMTU):
            let mtu = configuredMTU == 0 ? external.mtu - 50 : configuredMTU
            guard mtu >= 68 else {
                throw Refusal(description: "vxlan backend: \(external.name)'s MTU \(external.mtu) leaves \(mtu) after 50 bytes of encapsulation, below IPv4's minimum of 68")
            }
            let kernel = try KernelBackend(netlink: try RouteNetlink(), externalName: external.name, externalAddress: external.address,
                                           network: network, subnetLength: subnetLength, vxlan: (vni, port, mtu, directRouting), logger: logger)
            return BackendSetup(config: config, mtu: mtu, leaseAttributes: kernel.leaseAttributes(publicIP: publicIP),
                                kernel: kernel, logger: logger)
        }
    }

    /// Brings the data path up for our subnet.
    func start(subnet: IPv4Network, network: IPv4Network, external: NetworkInterface, udpOffload: UDPOffloadMode = .auto,
               onFailure: @escaping @Sendable (String) -> Void) throws -> DataPath {
        switch config {
        case let .udp(port):
            var offloads = UDPOffloads.none
            var refused: [String] = []
            let tun: TUNDevice
            if udpOffload == .auto {
                do {
                    tun = try TUNDevice(name: "flannel0", offloads: true)
                } catch {
                    refused.append("\(error)")
                    tun = try TUNDevice(name: "flannel0")
                }
                offloads.vnetHeader = tun.hasVnetHeader
                offloads.tso = tun.handsSuperPackets
                if tun.hasVnetHeader && !tun.handsSuperPackets {
                    refused.append(tun.leavesChecksums ? "TUNSETOFFLOAD refused TSO4 (checksum offload only)" : "TUNSETOFFLOAD refused checksum and TSO4 offloads")
                }
            } else {
                tun = try TUNDevice(name: "flannel0")
            }
            // Whatever fails from here on (the port taken, the proxy's eventfds) closes what
            // was opened: the agent may retry in the same process.
            var socket: UDPSocket?
            var started = false
            defer {
                if !started {
                    socket?.close()
                    tun.close()
                }
            }
            try tun.configure(address: subnet.address, mtu: mtu, network: network)
            do {
                try tun.setTransmitQueueLength(UDPProxy.tunQueueLength)
            } catch {
                logger.warning("udp backend: flannel0 keeps its default transmit queue, bursts may drop: \(error)")
            }
            let bound = try UDPSocket(address: external.address, port: port)
            socket = bound
            if udpOffload == .auto {
                if let problem = bound.enableSegmentation() { refused.append(problem) } else { offloads.udpSegment = true }
                if let problem = bound.enableGRO() { refused.append(problem) } else { offloads.udpGRO = true }
            }
            let proxy = try UDPProxy(tun: tun, socket: bound, tunAddress: subnet.address, mtu: mtu, port: port, offloads: offloads,
                                     onFailure: onFailure)
            proxy.start()
            started = true
            logger.info("udp backend: flannel0 \(subnet.address)/32 MTU \(mtu), route \(network) dev flannel0, UDP \(external.address):\(port)")
            logger.info("udp fast path (--udp-offload=\(udpOffload.rawValue)): \(offloads)")
            if !refused.isEmpty { logger.notice("udp fast path: fell back where the kernel refused: \(refused.joined(separator: "; "))") }
            return DataPath(kind: .udp(tun: tun, proxy: proxy, mtu: mtu), logger: logger)
        case .vxlan, .hostGW:
            let kernel = kernel!
            try kernel.activate(subnet: subnet)
            if let spec = kernel.vxlanSpec {
                logger.info("vxlan backend: \(spec.name) \(subnet.address)/32 MTU \(mtu), VNI \(spec.vni), VtepMAC \(kernel.vtepMAC.map { "\($0)" } ?? "?"), UDP \(spec.local):\(spec.port) on \(spec.underlay.name)\(kernel.directRouting ? ", DirectRouting" : "")")
            } else {
                logger.info("host-gw backend: routes to peers via their public IPs on \(kernel.external.name)")
            }
            return DataPath(kind: .kernel(kernel), logger: logger)
        }
    }
}
