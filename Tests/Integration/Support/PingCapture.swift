import Agent
import Foundation
import NetnsLab

extension Lab {
    /// Pings `destination` twice from `source` while tcpdump on `device` in `observer` waits
    /// for the first ICMP echo request; returns ping's output and what tcpdump printed, so a
    /// test can say which source address the packet carried there.
    func pingCaptured(from source: Namespace, to destination: IPv4Address, observer: Namespace, device: String,
                      name: String) throws -> (ping: String, capture: String) {
        let capture = BackgroundProcess(command: observer.command(["tcpdump", "-l", "-n", "-c", "1", "-i", device, "icmp"]),
                                        logFile: directory.appendingPathComponent("\(name).txt"))
        try capture.start()
        defer { capture.stop(grace: .milliseconds(100)) }
        try Poll.until("tcpdump to listen on \(device) in \(observer)", timeout: .seconds(5)) { capture.log.contains("listening on") }
        let ping = try source.run(["ping", "-c", "2", "-W", "2", destination.description]).stdout
        try Poll.until("the capture on \(device) in \(observer)", timeout: .seconds(5)) { capture.log.contains("ICMP echo request") }
        return (ping, capture.log)
    }
}
