import Foundation

/// One ping's path through a host, the walkthrough's way: tcpdump on every device the packet
/// crosses (container veth, docker0, flannel0, the underlay), started before the ping and
/// stopped after it, each giving the first packet it saw.
struct PathCapture {
    var namespace: Namespace
    /// Where the captures' output goes (`capture-<device>.txt`).
    var directory: URL
    /// Each device with its tcpdump filter.
    var devices: [(device: String, filter: [String])]

    /// The walkthrough's four devices on a host whose container sits behind `veth`.
    static func walkthrough(namespace: Namespace, directory: URL, veth: String) -> PathCapture {
        PathCapture(namespace: namespace, directory: directory, devices: [
            (veth, ["icmp"]), ("docker0", ["icmp"]), ("flannel0", ["icmp"]), ("eth0", ["udp", "port", "8285"]),
        ])
    }

    /// Runs `ping` while the captures listen; returns its result and, per device, the flow of
    /// the first packet seen there ("(nothing captured)" if none).
    func around<Result>(_ ping: () throws -> Result) throws -> (Result, [(device: String, flow: String)]) {
        var running: [(String, BackgroundProcess)] = []
        defer { for (_, process) in running { process.stop(grace: .milliseconds(100)) } }
        for (device, filter) in devices {
            let process = BackgroundProcess(command: namespace.command(["tcpdump", "-l", "-n", "-c", "1", "-i", device] + filter),
                                            logFile: directory.appendingPathComponent("capture-\(device).txt"))
            try process.start()
            running.append((device, process))
        }
        for (device, process) in running {
            try Poll.until("tcpdump to listen on \(device) in \(namespace)", timeout: .seconds(5)) { process.log.contains("listening on") }
        }
        let result = try ping()
        for (_, process) in running {
            try? Poll.until("a capture", timeout: .seconds(3)) { !process.isRunning }
        }
        let flows = running.map { device, process in
            (device, process.log.split(separator: "\n").first { $0.contains(" IP ") }.map { Self.flow(String($0)) } ?? "(nothing captured)")
        }
        return (result, flows)
    }

    /// "12:00:00.000 IP 10.1.62.2 > 10.1.61.2: ICMP echo request, ..." → "10.1.62.2 > 10.1.61.2:
    /// ICMP echo request"; UDP lines whole from the addresses on.
    static func flow(_ line: String) -> String {
        guard let range = line.range(of: " IP ") else { return line }
        let rest = String(line[range.upperBound...])
        if rest.contains(": UDP") { return rest }
        return String(rest.split(separator: ",").first ?? Substring(rest))
    }
}
