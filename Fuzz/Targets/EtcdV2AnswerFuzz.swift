/// `etcd-v2-answer`: `EtcdV2Answer.decode` and `.failure` (every body etcd's v2 keys API sends,
/// called by `EtcdV2Registry.call`), then `leaseListing` (a recursive get of `subnets`) and
/// `leaseEvents` (a watch answer) as the registry uses them.
///
/// Raw mode: the body as given. Built mode: an answer generated from the input (a directory
/// tree of up to four levels with lease keys good and bad, values good and bad, TTLs,
/// expirations, indexes), written as etcd writes it; it must decode to exactly the generated
/// answer. Checked for any answer that decodes:
/// - the listing has one entry (record or malformed) per key in the tree, records sorted by
///   subnet, each a reservation exactly when its key has no TTL (and no expiration), at the
///   listing's index; every record is what `EtcdKeyLayout.parse` makes of that key;
/// - a watch answer gives at most one event, at the node's modifiedIndex, a put for writes and
///   a delete (of a key that parses) for deletes and expiries, nothing for directories;
/// - `failure` returns a code only for a body whose `errorCode` is a whole number.
enum EtcdV2AnswerFuzz {
    static let layout = EtcdKeyLayout(prefix: "/flannel-test/network")
    static let actions = ["get", "set", "create", "update", "compareAndSwap", "delete", "expire", "compareAndDelete", "watch", ""]

    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzReader(data)
        let mode = input.byte()
        let index = Int64(bitPattern: input.u64() >> (mode >> 2 & 1 == 0 ? 40 : 0))
        if mode & 3 != 0 {
            let body = text(input.rest())
            if let failure = EtcdV2Answer.failure(body) {
                check((try? JSONParser.parse(body))?.member("errorCode")?.integerValue == failure.code, "failure code \(failure.code)")
                _ = failure.description
            }
            if let answer = try? EtcdV2Answer.decode(body) { checkAnswer(answer, index: index) }
            return
        }
        var budget = 40
        let answer = EtcdV2Answer(action: actions[Int(input.byte()) % actions.count],
                                  node: input.byte() < 230 ? node(&input, depth: 0, budget: &budget) : nil,
                                  previousNode: input.byte() < 64 ? node(&input, depth: 3, budget: &budget) : nil)
        var members = ["\"action\":" + JSONValue.string(answer.action).encoded]
        if let node = answer.node { members.append("\"node\":" + encode(node)) }
        if let previous = answer.previousNode { members.append("\"prevNode\":" + encode(previous)) }
        let body = "{" + members.joined(separator: ",") + "}"
        guard let decoded = try? EtcdV2Answer.decode(body) else { fuzzFailure("a well-formed answer did not decode: \(body.prefix(300))") }
        check(decoded == answer, "the answer decoded differently: \(body.prefix(300))")
        check(EtcdV2Answer.failure(body) == nil, "an answer was taken for an error")
        checkAnswer(decoded, index: index)
    }

    static func node(_ input: inout FuzzReader, depth: Int, budget: inout Int) -> EtcdV2Answer.Node {
        budget -= 1
        let shape = input.byte()
        let isDirectory = depth < 3 && shape & 1 == 1 && budget > 0
        let key: String
        switch shape >> 1 & 7 {
        case 0: key = text(input.chunk())
        case 1: key = layout.subnetsPrefix
        case 2: key = layout.subnetsPrefix + "/" + text(input.chunk())
        default:
            let v4 = "10.\(input.byte()).\(input.byte()).0-\(input.int(in: 16...32))"
            key = layout.subnetsPrefix + "/" + (shape & 0x80 == 0 ? v4 : v4 + "&fd00:\(String(input.u16(), radix: 16))::-64")
        }
        var children: [EtcdV2Answer.Node] = []
        if isDirectory {
            for _ in 0..<input.int(in: 0...6) where budget > 0 { children.append(node(&input, depth: depth + 1, budget: &budget)) }
        }
        let value: String?
        switch input.byte() % 6 {
        case 0: value = nil
        case 1: value = text(input.chunk())
        case 2: value = "{\"PublicIP\":\"192.0.2.\(input.byte())\",\"BackendType\":\"vxlan\",\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"c6:d2:32:6f:8f:\(String(input.byte() | 0x10, radix: 16))\"}}"
        default: value = "{\"PublicIP\":\"10.12.10.\(input.byte())\"}"
        }
        let timing = input.byte()
        let ttl: Int64? = timing % 3 == 0 ? nil : timing % 3 == 1 ? Int64(input.u32()) : Int64(bitPattern: input.u64())
        return EtcdV2Answer.Node(key: key, value: isDirectory ? nil : value, isDirectory: isDirectory,
                                 // "expiration" without "ttl" reads as a TTL of 0 (see `encode`).
                                 ttl: ttl ?? (timing & 0x80 != 0 ? 0 : nil),
                                 modifiedIndex: Int64(input.u32()), createdIndex: Int64(input.u16()), nodes: children)
    }

    /// As etcd writes a node. A TTL of 0 is written as an expiration alone (an expired key not
    /// yet swept), so the decoder's rule for it is exercised.
    static func encode(_ node: EtcdV2Answer.Node) -> String {
        var members = ["\"key\":" + JSONValue.string(node.key).encoded]
        if node.isDirectory { members.append("\"dir\":true") }
        if let value = node.value { members.append("\"value\":" + JSONValue.string(value).encoded) }
        if let ttl = node.ttl {
            members.append("\"expiration\":\"2026-11-29T18:00:00.123456789Z\"")
            if ttl != 0 { members.append("\"ttl\":\(ttl)") }
        }
        members.append("\"modifiedIndex\":\(node.modifiedIndex)")
        members.append("\"createdIndex\":\(node.createdIndex)")
        if !node.nodes.isEmpty { members.append("\"nodes\":[" + node.nodes.map(encode).joined(separator: ",") + "]") }
        return "{" + members.joined(separator: ",") + "}"
    }

    static func leaves(_ node: EtcdV2Answer.Node) -> [EtcdV2Answer.Node] {
        node.isDirectory ? node.nodes.flatMap(leaves) : [node]
    }

    static func checkAnswer(_ answer: EtcdV2Answer, index: Int64) {
        let listing = answer.leaseListing(index: index, layout: layout)
        let keys = answer.node.map(leaves) ?? []
        check(listing.revision == index, "listing revision \(listing.revision), index \(index)")
        check(listing.records.count + listing.malformed.count == keys.count,
              "\(keys.count) keys gave \(listing.records.count) records and \(listing.malformed.count) malformed")
        for (earlier, later) in zip(listing.records, listing.records.dropFirst()) {
            check(!(later.key < earlier.key), "records out of order: \(earlier.key) before \(later.key)")
        }
        var expected: [LeaseRecord] = []
        for leaf in keys {
            if case let .success(record) = layout.parse(leaf.keyValue) {
                check(record.isReservation == (leaf.ttl == nil), "\(leaf.key): reservation \(record.isReservation), ttl \(String(describing: leaf.ttl))")
                expected.append(record)
            }
        }
        check(listing.records.count == expected.count
              && expected.allSatisfy { record in listing.records.contains(record) },
              "the listing's records are not the keys' records")

        let batch = answer.leaseEvents(layout: layout)
        guard let node = answer.node, !node.isDirectory,
              let kind: WatchEvent.Kind = ["set": .put, "create": .put, "update": .put, "compareAndSwap": .put,
                                           "delete": .delete, "expire": .delete, "compareAndDelete": .delete][answer.action] else {
            check(batch == nil, "events from a \(answer.action) answer on \(String(describing: answer.node?.key))")
            return
        }
        guard let batch else { fuzzFailure("no events from a \(answer.action) of \(node.key)") }
        check(batch.revision == node.modifiedIndex && batch.events.count <= 1, "batch \(batch) for \(node.key)")
        switch (kind, batch.events.first) {
        case let (.put, .put(record)?):
            check(layout.parse(node.keyValue) == .success(record), "a put's record is not the node's")
        case let (.put, .malformed(problem)?):
            check(problem.key == node.key, "a malformed put names \(problem.key)")
        case let (.delete, .delete(key)?):
            check(layout.leaseName(ofKey: node.key).flatMap { try? SubnetKey(parsing: $0) } == key, "a delete of \(node.key) names \(key)")
        case (.delete, nil):
            check(layout.leaseName(ofKey: node.key).flatMap { try? SubnetKey(parsing: $0) } == nil, "a delete of lease \(node.key) was dropped")
        default:
            fuzzFailure("a \(answer.action) of \(node.key) gave \(batch.events)")
        }
    }
}
