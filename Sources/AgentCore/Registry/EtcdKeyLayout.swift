/// Where flannel keeps things in etcd: `<prefix>/config` and `<prefix>/subnets/<key>`.
public struct EtcdKeyLayout: Equatable, Sendable {
    /// The prefix without trailing slashes ("/coreos.com/network").
    public var prefix: String

    public static let defaultPrefix = "/coreos.com/network"

    /// Trailing slashes are dropped; a missing leading slash is kept missing, because upstream
    /// joins paths as given and etcd v3 keys "a/config" and "/a/config" are different keys.
    public init(prefix: String = EtcdKeyLayout.defaultPrefix) {
        var trimmed = prefix
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.prefix = trimmed
    }

    private var base: String { prefix == "/" ? "" : prefix }

    public var configKey: String { base + "/config" }
    /// The prefix that list and watch use (no trailing slash, as upstream).
    public var subnetsPrefix: String { base + "/subnets" }
    public func leaseKey(_ key: SubnetKey) -> String { subnetsPrefix + "/" + key.description }

    /// The subnet key of an etcd key under `subnets/`; nil for keys elsewhere.
    public func leaseName(ofKey key: String) -> String? {
        let head = subnetsPrefix + "/"
        guard key.hasPrefix(head) else { return nil }
        return String(key.dropFirst(head.count))
    }

    /// Parses one stored lease; a bad key or value becomes a `MalformedLease`.
    public func parse(_ kv: KeyValue) -> Result<LeaseRecord, MalformedLease> {
        guard let name = leaseName(ofKey: kv.key) else {
            return .failure(MalformedLease(key: kv.key, reason: "not under \(subnetsPrefix)/"))
        }
        let key: SubnetKey
        do {
            key = try SubnetKey(parsing: name)
        } catch {
            return .failure(MalformedLease(key: kv.key, reason: "the key is not a subnet (\(error.reason))"))
        }
        do {
            let attributes = try LeaseAttributes.decode(kv.value)
            return .success(LeaseRecord(key: key, attributes: attributes, isReservation: kv.lease == 0, modRevision: kv.modRevision,
                                        createRevision: kv.createRevision))
        } catch {
            return .failure(MalformedLease(key: kv.key, reason: error.reason, subnet: key))
        }
    }
}
