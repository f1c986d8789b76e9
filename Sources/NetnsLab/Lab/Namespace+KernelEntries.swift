import Agent
import Foundation

extension Namespace {
    /// The overlay's kernel entries as iproute2 reports them (`ip -j route`, `ip -j neigh`,
    /// `bridge -j fdb`), in the words of the core's kernel objects, so that a lab host and a
    /// simulated one read alike: routes into `network` except on docker0, and the neighbours
    /// and forwarding entries (with a destination) of every flannel device.
    public func kernelEntries(network: IPv4Network) throws -> [String] {
        try kernelEntries(network: network, family: "-4", devicePrefix: "flannel.")
    }

    /// The same for the IPv6 half of a dual-stack network (`ip -6`, `flannel-v6.<VNI>`).
    public func kernelEntries(ipv6Network network: IPv6Network) throws -> [String] {
        try kernelEntries(network: network, family: "-6", devicePrefix: "flannel-v6.")
    }

    private func kernelEntries<Address: IPAddress>(network: IPNetwork<Address>, family: String, devicePrefix: String) throws -> [String] {
        let routes = try json(["ip", family, "-j", "route", "show"]).compactMap { route -> String? in
            // The device's own /128 (IPv6) is the kernel's, not a peer's.
            guard let text = route["dst"] as? String, let destination = IPNetwork<Address>(text.contains("/") ? text : "\(text)/\(Address.bitWidth)"),
                  network.contains(destination), destination.prefixLength < Address.bitWidth,
                  let device = route["dev"] as? String, device != "docker0" else { return nil }
            var line = "route \(destination)"
            if let gateway = route["gateway"] as? String { line += " via \(gateway)" }
            line += " dev \(device)"
            if (route["flags"] as? [String])?.contains("onlink") == true { line += " onlink" }
            return line
        }
        let devices = try json(["ip", "-j", "link", "show"]).compactMap { $0["ifname"] as? String }.filter { $0.hasPrefix(devicePrefix) }
        var entries = routes
        for device in devices {
            entries += try json(["ip", family, "-j", "neigh", "show", "dev", device]).compactMap { entry in
                guard let address = entry["dst"] as? String, let mac = entry["lladdr"] as? String else { return nil }
                return "neighbour \(address) lladdr \(mac) dev \(device)"
            }
            entries += try json(["bridge", "-j", "fdb", "show", "dev", device]).compactMap { entry in
                guard let destination = entry["dst"] as? String, let mac = entry["mac"] as? String else { return nil }
                return "fdb \(mac) dst \(destination) dev \(device)"
            }
        }
        return entries.sorted()
    }

    /// `device`'s MAC, nil when there is no such device.
    public func deviceMAC(_ device: String) throws -> MACAddress? {
        guard try run(["ip", "link", "show", device]).succeeded else { return nil }
        return (try json(["ip", "-j", "link", "show", device]).first?["address"] as? String).flatMap { MACAddress($0) }
    }

    func json(_ command: [String]) throws -> [[String: Any]] {
        let output = try check(command).stdout
        guard !output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return [] }
        return try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]] ?? []
    }
}
