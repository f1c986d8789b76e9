/// One answer of etcd's v2 keys API (`/v2/keys/...`), decoded, and what it means for
/// flannel's leases. Pure, so the unit tests feed it etcd's own JSON.
///
/// v2 has no revisions: every change bumps one store-wide index (`X-Etcd-Index`, a node's
/// `modifiedIndex`), which plays the v3 revision's part (list at index N, watch from N + 1,
/// renew only if the key is still at the index we wrote). A key with a `ttl` is a lease; a
/// key without one is an operator's reservation.
public struct EtcdV2Answer: Equatable, Sendable {
    public struct Node: Equatable, Sendable {
        public var key: String
        public var value: String?
        public var isDirectory: Bool
        /// Seconds left, for a key with a TTL.
        public var ttl: Int64?
        public var modifiedIndex: Int64
        public var createdIndex: Int64
        public var nodes: [Node]

        public init(key: String, value: String? = nil, isDirectory: Bool = false, ttl: Int64? = nil,
                    modifiedIndex: Int64, createdIndex: Int64, nodes: [Node] = []) {
            self.key = key
            self.value = value
            self.isDirectory = isDirectory
            self.ttl = ttl
            self.modifiedIndex = modifiedIndex
            self.createdIndex = createdIndex
            self.nodes = nodes
        }

        /// The node as a v3-style key-value, for `EtcdKeyLayout.parse`: `lease` is non-zero
        /// exactly when the key has a TTL (v2 has no lease IDs).
        public var keyValue: KeyValue {
            KeyValue(key: key, value: value ?? "", createRevision: createdIndex, modRevision: modifiedIndex,
                     version: 1, lease: ttl == nil ? 0 : 1)
        }

        /// Every key (not directory) at or below this node, in etcd's order.
        var leaves: [Node] {
            isDirectory ? nodes.flatMap(\.leaves) : [self]
        }
    }

    /// An error answer: `{"errorCode":100,"message":"Key not found","cause":"/a","index":7}`.
    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public var code: Int
        public var message: String
        public var cause: String?
        /// etcd's index when it answered.
        public var index: Int64

        public static let keyNotFound = 100
        public static let compareFailed = 101
        public static let nodeExists = 105
        public static let eventIndexCleared = 401
        /// "The request requires user authentication": a wrong password, or no role covers the key.
        public static let unauthorized = 110

        public init(code: Int, message: String, cause: String? = nil, index: Int64 = 0) {
            self.code = code
            self.message = message
            self.cause = cause
            self.index = index
        }

        public var description: String { "\(message)\(cause.map { " (\($0))" } ?? "") [etcd v2 error \(code)]" }
    }

    /// get, set, create, update, compareAndSwap, delete, expire, compareAndDelete.
    public var action: String
    public var node: Node?
    public var previousNode: Node?

    public init(action: String, node: Node?, previousNode: Node? = nil) {
        self.action = action
        self.node = node
        self.previousNode = previousNode
    }

    /// Something that is neither an answer nor an error of the v2 keys API.
    public struct Unreadable: Error, Equatable, Sendable, CustomStringConvertible {
        public var reason: String
        public init(reason: String) { self.reason = reason }
        public var description: String { "not an etcd v2 answer: \(reason)" }
    }

    /// Decodes a success body.
    public static func decode(_ text: String) throws(Unreadable) -> EtcdV2Answer {
        let document: JSONValue
        do { document = try JSONParser.parse(text) } catch { throw Unreadable(reason: "\(error)") }
        guard let action = document.member("action")?.stringValue else { throw Unreadable(reason: "no \"action\"") }
        return EtcdV2Answer(action: action, node: try document.member("node").map(node),
                            previousNode: try document.member("prevNode").map(node))
    }

    /// Decodes an error body; nil when the body is not one (a proxy's page, an empty body).
    public static func failure(_ text: String) -> Failure? {
        guard let document = try? JSONParser.parse(text), let code = document.member("errorCode")?.integerValue else { return nil }
        return Failure(code: code, message: document.member("message")?.stringValue ?? "",
                       cause: document.member("cause")?.stringValue,
                       index: Int64(document.member("index")?.integerValue ?? 0))
    }

    private static func node(_ value: JSONValue) throws(Unreadable) -> Node {
        guard let key = value.member("key")?.stringValue else { throw Unreadable(reason: "a node without \"key\"") }
        var children: [Node] = []
        if case let .array(items)? = value.member("nodes") {
            for item in items { children.append(try node(item)) }
        }
        return Node(key: key, value: value.member("value")?.stringValue, isDirectory: value.member("dir")?.boolValue ?? false,
                    // etcd leaves "ttl" out once it reaches 0 (expired, not yet swept): a lease is
                    // a key with an "expiration".
                    ttl: value.member("ttl")?.integerValue.map(Int64.init) ?? (value.member("expiration") == nil ? nil : 0),
                    modifiedIndex: Int64(value.member("modifiedIndex")?.integerValue ?? 0),
                    createdIndex: Int64(value.member("createdIndex")?.integerValue ?? 0), nodes: children)
    }

    // MARK: Leases

    /// A recursive get of `<prefix>/subnets` as a listing at `index` (the answer's
    /// `X-Etcd-Index`), sorted by subnet like the v3 listing.
    public func leaseListing(index: Int64, layout: EtcdKeyLayout) -> LeaseListing {
        let entries = node?.leaves.map(\.keyValue) ?? []
        return LeaseOperations.listing(from: RangeResult(kvs: entries, revision: index), layout: layout)
    }

    /// A watch answer as lease events at the node's index: writes are puts; deletes, expiries
    /// and compare-and-deletes are deletes; directories are ignored.
    public func leaseEvents(layout: EtcdKeyLayout) -> LeaseEventBatch? {
        guard let node, !node.isDirectory else { return nil }
        let kind: WatchEvent.Kind
        switch action {
        case "set", "create", "update", "compareAndSwap": kind = .put
        case "delete", "expire", "compareAndDelete": kind = .delete
        default: return nil
        }
        let batch = WatchBatch(events: [WatchEvent(kind: kind, kv: node.keyValue)], revision: node.modifiedIndex)
        return EtcdRegistry.leaseEvents(batch, layout: layout)
    }
}
