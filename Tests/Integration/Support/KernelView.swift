import Foundation
import NetnsLab

/// A lab host's kernel objects as iproute2 reports them (`ip -j`, `bridge -j`), flattened
/// into short strings that tests compare against COMPAT.md.
struct KernelView {
    let namespace: Namespace

    func json(_ command: [String]) throws -> [[String: Any]] {
        let output = try namespace.check(command).stdout
        guard !output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return [] }
        return try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]] ?? []
    }

    /// `ip -j -d link show <device>`, or nil when the device does not exist.
    func link(_ device: String) throws -> [String: Any]? {
        guard try namespace.run(["ip", "link", "show", device]).succeeded else { return nil }
        return try json(["ip", "-j", "-d", "link", "show", device]).first
    }

    /// "10.1.15.0/24 via 10.1.15.0 dev flannel.1 onlink" per route into `network`.
    func routes(into prefix: String) throws -> [String] {
        try json(["ip", "-j", "route", "show"]).compactMap { route in
            guard let destination = route["dst"] as? String, destination.hasPrefix(prefix) else { return nil }
            var text = destination
            if let gateway = route["gateway"] as? String { text += " via \(gateway)" }
            text += " dev \(route["dev"] as? String ?? "?")"
            if (route["flags"] as? [String])?.contains("onlink") == true { text += " onlink" }
            return text
        }.sorted()
    }

    /// The same for IPv6 routes (`ip -6 route`): "fd00:10:1:f::/64 via fd00:10:1:f:: dev flannel-v6.1 onlink".
    func ipv6Routes(into prefix: String) throws -> [String] {
        try json(["ip", "-6", "-j", "route", "show"]).compactMap { route in
            guard let destination = route["dst"] as? String, destination.hasPrefix(prefix), destination.hasSuffix("/64") else { return nil }
            var text = destination
            if let gateway = route["gateway"] as? String { text += " via \(gateway)" }
            text += " dev \(route["dev"] as? String ?? "?")"
            if (route["flags"] as? [String])?.contains("onlink") == true { text += " onlink" }
            return text
        }.sorted()
    }

    /// "10.1.15.0 c6:d2:32:6f:8f:44 PERMANENT" per neighbour on the device.
    func neighbours(_ device: String) throws -> [String] {
        try json(["ip", "-j", "neigh", "show", "dev", device]).map { entry in
            "\(entry["dst"] ?? "") \(entry["lladdr"] ?? "") \(((entry["state"] as? [String]) ?? []).joined(separator: ","))"
        }.sorted()
    }

    /// "c6:d2:32:6f:8f:44 dst 192.0.2.12 self permanent" per forwarding entry with a destination.
    func forwardingEntries(_ device: String) throws -> [String] {
        try json(["bridge", "-j", "fdb", "show", "dev", device]).compactMap { entry in
            guard let destination = entry["dst"] as? String else { return nil }
            return "\(entry["mac"] ?? "") dst \(destination) \(((entry["flags"] as? [String]) ?? []).joined(separator: ",")) \(entry["state"] ?? "")"
        }.sorted()
    }
}
