import Agent
import ClusterScenarios
import Foundation

/// The lab's network faults, containers, traffic and time.
extension LabCluster {
    public func kernelEntries(on host: ClusterHost, network: IPv4Network) throws -> [String] {
        try labHost(host).namespace.kernelEntries(network: network)
    }

    public func kernelEntries(on host: ClusterHost, ipv6Network network: IPv6Network) throws -> [String] {
        try labHost(host).namespace.kernelEntries(ipv6Network: network)
    }

    public func deviceMAC(_ device: String, on host: ClusterHost) throws -> MACAddress? {
        try labHost(host).namespace.deviceMAC(device)
    }

    public func wireGuardDevice(on host: ClusterHost) throws -> ClusterWireGuardDevice? {
        let lab = try labHost(host)
        guard try lab.namespace.run(["ip", "link", "show", "dev", WireGuardBackend.deviceName]).succeeded else { return nil }
        // `wg show <device> dump`: the device's line (private key, public key, port, fwmark), then
        // per peer: public key, PSK, endpoint, allowed IPs, handshake, rx, tx, keepalive.
        let lines = try lab.wireGuardDump().split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        guard let device = lines.first, device.count > 1 else { return nil }
        return ClusterWireGuardDevice(publicKey: device[1], peers: lines.dropFirst().filter { $0.count >= 4 }.map { "\($0[0]) \($0[2]) \($0[3])" })
    }

    public func deleteDevice(_ device: String, on host: ClusterHost) throws {
        try labHost(host).namespace.ip(["link", "del", device])
    }

    // MARK: Network

    /// etcd's packets dropped both ways, and the open connection killed (`ss -K`): the agent
    /// sees its watch break at once, and every new request time out.
    public func cutFromEtcd(_ host: ClusterHost, _ cut: Bool) throws {
        let namespace = try labHost(host).namespace
        // Every member: a host cut off from etcd reaches none of them.
        for member in lab.etcdMembers {
            let rules = [["OUTPUT", "-p", "tcp", "-d", "\(member.address)", "--dport", "2379", "-j", "DROP"],
                         ["INPUT", "-p", "tcp", "-s", "\(member.address)", "--sport", "2379", "-j", "DROP"]]
            for rule in rules { try namespace.check(["iptables", cut ? "-I" : "-D"] + rule) }
            if cut { try namespace.check(["ss", "-K", "dst", "\(member.address)", "dport", "=", "2379"]) }
        }
    }

    public func cutLink(_ first: ClusterHost, _ second: ClusterHost, _ cut: Bool) throws {
        let namespace = try labHost(first).namespace
        let rules = [["OUTPUT", "-d", "\(second.publicIP)", "-j", "DROP"], ["INPUT", "-s", "\(second.publicIP)", "-j", "DROP"]]
        for rule in rules { try namespace.check(["iptables", cut ? "-I" : "-D"] + rule) }
    }

    // MARK: Containers and traffic

    public func addContainer(on host: ClusterHost) throws -> ClusterContainer {
        let labHost = try labHost(host)
        let (namespace, address) = try labHost.addContainer()
        let number = Int(namespace.name.split(separator: "c").last ?? "") ?? 0
        let container = ClusterContainer(host: host, number: number, address: address, ipv6: labHost.ipv6Address(of: namespace))
        setNamespace(namespace, of: container)
        return container
    }

    public func removeContainer(_ container: ClusterContainer) throws {
        let namespace = try self.namespace(of: container)
        try CommandRunner.check(["ip", "netns", "del", namespace.name])
        setNamespace(nil, of: container)
    }

    public func ping(from container: ClusterContainer, to address: IPv4Address, wait: Duration) throws -> PingResult {
        try ping(from: container, to: address.description, family: "-4", wait: wait)
    }

    public func ping(from container: ClusterContainer, to address: IPv6Address, wait: Duration) throws -> PingResult {
        try ping(from: container, to: address.description, family: "-6", wait: wait)
    }

    private func ping(from container: ClusterContainer, to address: String, family: String, wait: Duration) throws -> PingResult {
        let seconds = max(1, Int(wait.components.seconds))
        let result = try namespace(of: container).run(["ping", family, "-n", "-c", "1", "-W", String(seconds), address])
        if let range = result.stdout.range(of: "ttl="), let ttl = Int(result.stdout[range.upperBound...].prefix { $0.isNumber }) {
            return .reply(ttl: ttl)
        }
        return result.stdout.contains("Unreachable") ? .unreachable : .noAnswer
    }

    public func udpProbe(from container: ClusterContainer, to address: IPv4Address) throws -> ProbeResult {
        switch try namespace(of: container).udpProbe(to: address) {
        case "errno 101": .netUnreachable
        case "timeout": .noAnswer
        case let other: .other(other)
        }
    }

    /// Both from etcd's namespace, an extra one on the underlay: a non-peer sends from its own
    /// address; "from a peer" is forged there with a raw socket, the peer's address and the
    /// udp port as source (fragmented by hand above the underlay's MTU), as anyone on the
    /// same L2 can.
    public func sendDatagrams(to host: ClusterHost, from peer: ClusterHost?, _ payload: [UInt8], count: Int) throws {
        let hex = payload.map { String(format: "%02x", $0) }.joined()
        guard let peer else {
            try lab.etcdNamespace.check(["python3", "-c", """
                import socket
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                for _ in range(\(count)): s.sendto(bytes.fromhex('\(hex)'), ('\(host.publicIP)', 8285))
                """])
            return
        }
        try lab.etcdNamespace.check(["python3", "-c", """
            import socket, struct
            src, dst, payload = '\(peer.publicIP)', '\(host.publicIP)', bytes.fromhex('\(hex)')
            udp = struct.pack('!HHHH', 8285, 8285, 8 + len(payload), 0) + payload
            s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
            def packets(ident):
                step = 1480
                for offset in range(0, len(udp), step):
                    more = 0x2000 if offset + step < len(udp) else 0
                    chunk = udp[offset:offset + step]
                    header = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(chunk), ident, more | (offset // 8), 64, 17, 0,
                                         socket.inet_aton(src), socket.inet_aton(dst))
                    yield header + chunk
            for n in range(\(count)):
                for packet in packets(0x4000 + n):
                    s.sendto(packet, (dst, 0))
            """])
    }

    /// From `/metrics`: `flannel_udp_drops_total{reason="…"} N`.
    public func dropCount(_ reason: String, on host: ClusterHost) throws -> Int {
        let marker = "flannel_udp_drops_total{reason=\"\(reason)\"} "
        guard let line = try metrics(of: host).split(separator: "\n").first(where: { $0.hasPrefix(marker) }) else { return 0 }
        return Int(Double(line.dropFirst(marker.count).trimmingCharacters(in: .whitespaces)) ?? 0)
    }

    public func startPings(from container: ClusterContainer, to address: IPv4Address, interval: Duration) throws -> PingSeries {
        let token = nextToken()
        let ping = try BackgroundPing(from: try namespace(of: container), to: address, count: 100_000, interval: interval,
                                      logFile: lab.directory.appendingPathComponent("ping-\(token).log"))
        setSeries(ping, token: token)
        return PingSeries(from: container, to: address, interval: interval, token: token)
    }

    public func pingsSoFar(_ series: PingSeries) throws -> PingSeriesOutcome {
        try self.series(series.token).soFar
    }

    public func stopPings(_ series: PingSeries) throws -> PingSeriesOutcome {
        let ping = try self.series(series.token)
        setSeries(nil, token: series.token)
        return try ping.interrupt()
    }

    public func iperf(from container: ClusterContainer, to target: ClusterContainer) throws -> Double {
        let server = BackgroundProcess(command: try namespace(of: target).command(["iperf3", "-s", "-1", "--forceflush"]),
                                       logFile: lab.directory.appendingPathComponent("iperf3-server.log"))
        try server.start()
        defer { server.stop() }
        // A client started before the server listens is refused (seen once in CI).
        try Poll.until("iperf3 to listen in \(target)", timeout: .seconds(10)) { server.log.contains("listening") }
        return try BenchTraffic.iperf(from: try namespace(of: container), to: target.address, seconds: 5, streams: 1).bitsPerSecond
    }

    // MARK: Time

    public func pass(_ duration: Duration, _ what: String) throws {
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline {
            try LabInterruption.check()
            let left = deadline - ContinuousClock.now
            Thread.sleep(forTimeInterval: min(0.25, max(0, Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18)))
        }
    }

    public func waitUntil(_ what: String, timeout: Duration, _ condition: () throws -> Bool) throws {
        try Poll.until(what, timeout: timeout, interval: .milliseconds(100), condition)
    }
}
