/// `lease`: what flannel reads from etcd about other hosts: subnet keys (`SubnetKey(parsing:)`),
/// lease values (`LeaseAttributes.decode`), whole entries (`EtcdKeyLayout.parse`) and the
/// vxlan `VtepMAC` in a value (`VXLANBackend.vtepMAC`). The first byte picks the part.
/// Checked:
/// - a key that parses: `SubnetKey(parsing: key.description)` gives the same key, and the text
///   was already canonical (finding `subnet-key-canonical` otherwise: two etcd keys, one subnet);
///   its IPv4 network has no host bits;
/// - a value that decodes: `decode(encoded)` gives an equal value, and `encoded` is a fixed point;
/// - an entry: a success names the key `leaseName(ofKey:)` parses to, a reservation exactly when
///   the etcd lease is 0, the value `decode` gives; a failure keeps the etcd key; a key built by
///   `leaseKey` is found again by `leaseName(ofKey:)`;
/// - a VtepMAC that parses prints back as the text, lower-cased (finding `mac-canonical`).
enum LeaseFuzz {
    static let layouts = [EtcdKeyLayout(), EtcdKeyLayout(prefix: "/flannel-test/network/"), EtcdKeyLayout(prefix: "/"),
                          EtcdKeyLayout(prefix: "a")]

    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzReader(data)
        let mode = input.byte()
        switch mode % 4 {
        case 0: key(text(input.rest()))
        case 1: value(text(input.rest()))
        case 2:
            let layout = layouts[Int(mode >> 2) % layouts.count]
            let parts = input.rest().split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
            let keyText = text(parts[0])
            entry(layout: layout, key: keyText.hasPrefix("/") || keyText.isEmpty ? keyText : layout.subnetsPrefix + "/" + keyText,
                  value: parts.count > 1 ? text(parts[1]) : "", lease: Int64(mode >> 4) - 1)
        default: mac(text(input.rest()))
        }
    }

    static func key(_ text: String) {
        guard let key = try? SubnetKey(parsing: text) else { return }
        let printed = key.description
        guard let again = try? SubnetKey(parsing: printed) else { fuzzFailure("\(printed), printed from \(text), does not parse") }
        check(again == key && again.description == printed, "\(text) → \(printed) → \(again)")
        check(key.ipv4 != nil || key.ipv6 != nil, "\(text) parses as a key with no subnet")
        if let ipv4 = key.ipv4 { check(IPv4Network(address: ipv4.address, prefixLength: ipv4.prefixLength) == ipv4, "host bits in \(ipv4)") }
        // Fixed finding subnet-key-canonical.
        check(printed == text,
                      "the key \"\(text)\" parses as \(printed): two etcd keys would name one subnet")
    }

    static func value(_ text: String) {
        guard let attributes = try? LeaseAttributes.decode(text) else { return }
        let encoded = attributes.encoded
        guard let again = try? LeaseAttributes.decode(encoded) else { fuzzFailure("\(encoded), encoded from \(text), does not decode") }
        check(again == attributes, "decode(encoded) differs: \(text) → \(encoded)")
        check(again.encoded == encoded, "encoding is not a fixed point: \(encoded)")
        check(attributes.backendType != "", "an empty BackendType was kept")
        let peer = Peer(key: SubnetKey(IPv4Network("10.1.15.0/24")!), attributes: attributes)
        if let mac = VXLANBackend.vtepMAC(of: peer) {
            check(MACAddress(mac.description) == mac, "\(mac) does not round-trip")
        }
    }

    static func entry(layout: EtcdKeyLayout, key: String, value: String, lease: Int64) {
        let kv = KeyValue(key: key, value: value, createRevision: 3, modRevision: 7, version: 1, lease: lease)
        switch layout.parse(kv) {
        case let .success(record):
            guard let name = layout.leaseName(ofKey: key), let parsed = try? SubnetKey(parsing: name) else {
                fuzzFailure("\(key) parsed as a lease but is no subnet key under \(layout.subnetsPrefix)/")
            }
            check(record.key == parsed, "\(key) parsed as \(record.key), its name as \(parsed)")
            check(record.isReservation == (lease == 0) && record.modRevision == 7, "reservation/revision of \(key)")
            check((try? LeaseAttributes.decode(value)) == record.attributes, "the record's attributes are not the value's")
            check(layout.leaseName(ofKey: layout.leaseKey(record.key)) == record.key.description, "leaseKey/leaseName disagree")
        case let .failure(problem):
            check(problem.key == key, "a malformed entry names \(problem.key), not \(key)")
            if let subnet = problem.subnet {
                check(layout.leaseName(ofKey: key).flatMap { try? SubnetKey(parsing: $0) } == subnet, "malformed entry's subnet")
            }
        }
    }

    static func mac(_ text: String) {
        let value = "{\"PublicIP\":\"10.12.10.193\",\"BackendType\":\"vxlan\",\"BackendData\":{\"VNI\":1,\"VtepMAC\":"
            + JSONValue.string(text).encoded + "}}"
        guard let attributes = try? LeaseAttributes.decode(value) else { fuzzFailure("a lease value around a VtepMAC did not decode") }
        let peer = Peer(key: SubnetKey(IPv4Network("10.1.15.0/24")!), attributes: attributes)
        guard let mac = VXLANBackend.vtepMAC(of: peer) else { return }
        check(MACAddress(mac.description) == mac, "\(mac) does not round-trip")
        // Fixed finding mac-canonical.
        check(mac.description == text.lowercased(),
                      "the VtepMAC \"\(text)\" is accepted as \(mac)")
    }
}
