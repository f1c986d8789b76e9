import Logging

/// udp on Linux: flannel0 (TUN, with the kernel's offloads where it grants them), a UDP
/// socket on the external address, and `UDPProxy` between the two.
struct UDPLinuxBackend: LinuxBackend {
    static func prepare(_ backend: UDPBackend, device: BackendDevice?, ipv6Device: BackendDevice?, on host: LinuxBackendHost) throws -> any PreparedBackend {
        Prepared(backend: backend, host: host, mtu: backend.mtu(on: host.backendHost))
    }

    final class Prepared: PreparedBackend {
        let backend: UDPBackend
        let host: LinuxBackendHost
        let mtu: Int

        init(backend: UDPBackend, host: LinuxBackendHost, mtu: Int) {
            self.backend = backend
            self.host = host
            self.mtu = mtu
        }

        var deviceIdentity: BackendDeviceIdentity? { nil }

        func start(_ subnets: OwnSubnets, onFailure: @escaping @Sendable (String) -> Void) throws -> any RunningDataPath {
            guard let subnet = subnets.subnet, let network = subnets.network else { throw UDPBackend.IPv4Only() }
            let (port, logger, udpOffload, external) = (backend.port, host.logger, host.udpOffload, host.external)
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
            let proxy = try UDPProxy(tun: tun, socket: bound, subnet: subnet, mtu: mtu, port: port, offloads: offloads,
                                     onFailure: onFailure)
            try proxy.start()
            started = true
            logger.info("udp backend: flannel0 \(subnet.address)/32 MTU \(mtu), route \(network) dev flannel0, UDP \(external.address):\(port)")
            logger.info("udp fast path (--udp-offload=\(udpOffload.rawValue)): \(offloads)")
            if !refused.isEmpty { logger.notice("udp fast path: fell back where the kernel refused: \(refused.joined(separator: "; "))") }
            return UDPDataPath(tun: tun, proxy: proxy, mtu: mtu, logger: logger)
        }
    }
}
