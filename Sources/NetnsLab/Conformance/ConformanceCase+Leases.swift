import Agent
import Foundation

/// Scenarios of the lease's life: reservations, a full network, a subnet taken while its
/// host was down.
extension ConformanceCase {
    /// S7: a key without a TTL naming the host's PublicIP is a reservation: the host gets
    /// exactly that subnet, the key stays without expiry, and no other host takes it.
    static let reservation = ConformanceCase(id: "reservation", origin: "S7", summary: "host-gw: a key without TTL naming h1's PublicIP: h1 gets that subnet, the key never gains a TTL") { run in
        try run.writeConfig(backend: "host-gw")
        let (h1, h2) = (try run.addHost(), try run.addHost())
        let reserved = IPv4Network(address: IPv4Address(10, 1, 200, 0), prefixLength: 24)
        let key = "subnets/10.1.200.0-24"
        try run.etcd.put(key, #"{"PublicIP":"\#(h1.address)","BackendType":"host-gw"}"#)
        let subnet = try run.start(h1)
        guard subnet == reserved else {
            throw ConformanceFailure(check: "h1's subnet", expected: "the reserved \(reserved)", happened: "\(subnet)")
        }
        if let expiry = try run.etcd.expiry(key) {
            throw ConformanceFailure(check: "the reservation once h1 holds it", expected: "a key without TTL, as written",
                                     happened: "the key now has \(expiry): the agent turned the reservation into a lease that expires")
        }
        let other = try run.start(h2)
        guard other != reserved else {
            throw ConformanceFailure(check: "h2's subnet", expected: "anything but h1's reserved \(reserved)", happened: "\(other)")
        }
    }

    /// S8: three agents start at once where the network has room for two subnets: two get
    /// distinct ones, the third none, and etcd never holds a duplicate.
    static let allocationRace = ConformanceCase(id: "allocation-race", origin: "S8", summary: "host-gw: 3 agents start at once, 2 free subnets: 2 distinct leases, the third gets none") { run in
        try run.writeConfig(backend: "host-gw", extra: #""SubnetMin": "10.1.1.0", "SubnetMax": "10.1.2.0""#)
        let hosts = try (1...3).map { _ in try run.addHost() }
        for host in hosts { try host.startAgent(binary: run.subject.binary, arguments: ["--iface=eth0"]) }
        func written() -> [IPv4Network] {
            hosts.compactMap { host in
                (try? String(contentsOfFile: host.subnetFilePath, encoding: .utf8)).flatMap { try? SubnetFile.parse($0) }?.subnet
            }
        }
        do {
            try Poll.until("two subnet.env files", timeout: .seconds(30), interval: .milliseconds(100)) { written().count >= 2 }
        } catch {
            throw ConformanceFailure(check: "subnet.env of the three hosts", expected: "two written within 30 s", happened: "\(written())")
        }
        // Watch a while for a third subnet or a duplicate lease: neither may ever appear.
        let deadline = ContinuousClock.now + .seconds(5)
        repeat {
            let subnets = written()
            let keys = try run.etcd.leaseKeys()
            guard subnets.count == 2, Set(subnets).count == 2, keys.count == 2 else {
                throw ConformanceFailure(check: "leases with room for two", expected: "two distinct subnets and two keys in etcd",
                                         happened: "subnet.env files: \(subnets.map(\.description).joined(separator: ", ")); etcd: \(keys.joined(separator: ", "))")
            }
            Thread.sleep(forTimeInterval: 0.2)
        } while ContinuousClock.now < deadline
    }

    /// S4: while h2 is down its lease goes and another host takes its subnet: h2 comes back
    /// with a different subnet (never the taken one) and h1 routes that.
    static let subnetTakenDrift = ConformanceCase(id: "subnet-taken-drift", origin: "S4", summary: "host-gw: h2's subnet taken while it was down: h2 returns with another one, h1 routes it") { run in
        let (h1, h2, old) = try run.twoHosts(backend: "host-gw")
        h2.stopAgent()
        let key = "subnets/\(old.address)-\(old.prefixLength)"
        try run.etcd.delete(key)
        let taker = #"{"PublicIP":"192.0.2.77","BackendType":"host-gw"}"#
        try run.etcd.put(key, taker)
        let new = try run.start(h2)
        guard new != old else {
            throw ConformanceFailure(check: "h2's subnet after its old one was taken", expected: "a new subnet",
                                     happened: "\(old) again, which 192.0.2.77 holds: two hosts route one subnet")
        }
        guard let value = try run.etcd.get(key), (try? LeaseAttributes.decode(value).publicIP) == IPv4Address(192, 0, 2, 77) else {
            throw ConformanceFailure(check: "the taker's lease for \(old)", expected: "left alone (PublicIP 192.0.2.77)",
                                     happened: (try run.etcd.get(key)) ?? "deleted")
        }
        try run.waitForRoute(on: h1, to: new, containing: "via \(h2.address) dev eth0")
    }
}
