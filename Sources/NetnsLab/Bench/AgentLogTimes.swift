import Agent
import Foundation

/// What one agent's log says about when things happened, from its timestamps (glog's
/// `I1207 23:00:01.250142`, microseconds, the machine's clock shared by every agent): its
/// first line, its lease, and when it programmed each peer subnet ("peer added: S" for udp,
/// whose forwarding is the agent itself; for the kernel backends only "add route S", which
/// comes after it).
struct AgentLogTimes {
    /// Seconds on a scale common to every agent of the run (month, day and time of day).
    var firstLine: Double?
    var subnet: IPv4Network?
    var leasedAt: Double?
    var reached: [IPv4Network: Double] = [:]
    /// Renewals that failed (each retried).
    var failedRenewals = 0

    /// `routes`: a peer counts as programmed at its "add route" line (kernel backends).
    init(log text: String, routes: Bool) {
        for line in text.split(separator: "\n") {
            guard let time = Self.time(of: line) else { continue }
            if firstLine == nil { firstLine = time }
            if let subnet = Self.subnet(after: "acquired lease ", in: line) {
                self.subnet = subnet
                leasedAt = time
            } else if let peer = Self.subnet(after: routes ? "add route " : "peer added: ", in: line) {
                reached[peer] = max(reached[peer] ?? 0, time)
            } else if line.contains("renewing the lease for ") && line.contains(" failed: ") {
                failedRenewals += 1
            }
        }
    }

    /// "I1207 23:00:01.250142 …" → seconds (months counted as 31 days: only differences matter).
    static func time(of line: Substring) -> Double? {
        let characters = Array(line.prefix(21))
        guard characters.count == 21, "IWEF".contains(characters[0]), characters[5] == " ",
              let month = Int(String(characters[1...2])), let day = Int(String(characters[3...4])),
              let hours = Int(String(characters[6...7])), let minutes = Int(String(characters[9...10])),
              let seconds = Double(String(characters[12...20])) else { return nil }
        return Double(((month * 31 + day) * 24 + hours) * 60 + minutes) * 60 + seconds
    }

    /// The subnet written right after `marker`: "peer added: 10.1.45.0/24 via …" → 10.1.45.0/24.
    static func subnet(after marker: String, in line: Substring) -> IPv4Network? {
        guard let range = line.range(of: marker) else { return nil }
        let word = line[range.upperBound...].prefix { $0 != " " }
        return IPv4Network(String(word))
    }
}
