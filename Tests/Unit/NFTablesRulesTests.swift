import Agent
import Testing

/// `--ip-masq` and `--iptables-forward-rules` with `"EnableNFTables": true`: upstream's table,
/// chains and rules as one `nft -f -` transaction, compared with what nft lists. The JSON
/// fixtures are nft 1.0.6's own output (`nft -j list …` in a scratch network namespace after
/// applying the transactions below).
@Suite("nftables traffic rules")
struct NFTablesRulesTests {
    let network = IPv4Network("10.1.0.0/16")!
    let subnet = IPv4Network("10.1.82.0/24")!

    @Test func masqueradeAndForwardAreOneTransactionWithUpstreamsRulesInOrder() {
        let rules = NFTablesRules(network: network, subnet: subnet, ipMasq: true, forwardRules: true)
        #expect(rules.transaction() == """
            add table ip flannel-ipv4 { comment "rules for flannel-ipv4" ; }
            add chain ip flannel-ipv4 postrtg { type nat hook postrouting priority srcnat ; comment "chain to manage traffic masquerading by flannel" ; }
            flush chain ip flannel-ipv4 postrtg
            add rule ip flannel-ipv4 postrtg meta mark 0x4000 return
            add rule ip flannel-ipv4 postrtg ip saddr 10.1.82.0/24 ip daddr 10.1.0.0/16 return
            add rule ip flannel-ipv4 postrtg ip saddr 10.1.0.0/16 ip daddr 10.1.82.0/24 return
            add rule ip flannel-ipv4 postrtg ip saddr != 10.1.0.0/16 ip daddr 10.1.82.0/24 return
            add rule ip flannel-ipv4 postrtg ip saddr 10.1.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random
            add rule ip flannel-ipv4 postrtg ip saddr != 10.1.0.0/16 ip daddr 10.1.0.0/16 masquerade fully-random
            add chain ip flannel-ipv4 forward { type filter hook forward priority filter ; comment "chain to accept flannel traffic" ; }
            flush chain ip flannel-ipv4 forward
            add rule ip flannel-ipv4 forward ip saddr 10.1.0.0/16 accept
            add rule ip flannel-ipv4 forward ip daddr 10.1.0.0/16 accept

            """)
        #expect(!rules.isEmpty)
        #expect(NFTablesRules(network: network, subnet: subnet, ipMasq: false, forwardRules: false).isEmpty)
    }

    @Test func masqueradeOnlyHasNoForwardChain() {
        let text = NFTablesRules(network: network, subnet: subnet, ipMasq: true, forwardRules: false).transaction()
        #expect(text.components(separatedBy: "\n").filter { $0.hasPrefix("add rule ip flannel-ipv4 postrtg ") }.count == 6)
        #expect(!text.contains("forward"))
    }

    @Test func forwardOnlyHasNoNATChain() {
        let text = NFTablesRules(network: network, subnet: subnet, ipMasq: false, forwardRules: true).transaction()
        #expect(text == """
            add table ip flannel-ipv4 { comment "rules for flannel-ipv4" ; }
            add chain ip flannel-ipv4 forward { type filter hook forward priority filter ; comment "chain to accept flannel traffic" ; }
            flush chain ip flannel-ipv4 forward
            add rule ip flannel-ipv4 forward ip saddr 10.1.0.0/16 accept
            add rule ip flannel-ipv4 forward ip daddr 10.1.0.0/16 accept

            """)
    }

    @Test func withoutRandomFullyTheMasqueradeIsPlain() {
        let rules = NFTablesRules(network: network, subnet: subnet, ipMasq: true, forwardRules: true, randomFully: false)
        #expect(!rules.transaction().contains("fully-random"))
        #expect(rules.rules.filter { $0.text.hasSuffix(" masquerade") }.count == 2)
    }

    @Test func aTableToRepairIsDeletedAndMadeAnewInTheSameTransaction() {
        let text = NFTablesRules(network: network, subnet: subnet, ipMasq: false, forwardRules: true).transaction(recreatingTable: true)
        #expect(text.hasPrefix("""
            add table ip flannel-ipv4 { comment "rules for flannel-ipv4" ; }
            delete table ip flannel-ipv4
            add table ip flannel-ipv4 { comment "rules for flannel-ipv4" ; }
            add chain ip flannel-ipv4 forward
            """))
        #expect(NFTablesRules.removal == "add table ip flannel-ipv4\ndelete table ip flannel-ipv4\n")
    }

    // MARK: Comparison with nft's JSON

    @Test func nftsOwnRenderingOfOurRulesCountsAsEqual() throws {
        let rules = NFTablesRules(network: network, subnet: subnet, ipMasq: true, forwardRules: true)
        #expect(try rules.differences(fromListing: Self.listedTable) == [])
        // Rule by rule: 16384 is our 0x4000, a prefix object our CIDR, an explicit == our implicit one.
        let listing = try NFTablesListing(json: Self.listedTable, family: "ip", table: "flannel-ipv4")
        #expect(listing.rules.map(\.text) == rules.rules.map(\.text))
        #expect(listing.rules.map(\.handle) == [2, 3, 4, 5, 6, 7, 9, 10])
        let plain = NFTablesRules(network: network, subnet: subnet, ipMasq: true, forwardRules: false, randomFully: false)
        #expect(try plain.differences(fromListing: Self.listedPlainTable) == [])
    }

    @Test func aWholeRulesetIsReadForOurTableOnly() throws {
        // Around ours: iptables-nft's `ip nat` table, and an `inet` table with our name.
        let rules = NFTablesRules(network: network, subnet: subnet, ipMasq: true, forwardRules: true)
        #expect(try rules.differences(fromListing: Self.listedRuleset) == [])
        #expect(try rules.differences(fromListing: #"{"nftables": [{"metainfo": {"version": "1.0.6"}}]}"#) == [.tableMissing])
        #expect(throws: NFTablesListing.Failure.self) { try rules.differences(fromListing: "Error: No such file or directory") }
    }

    @Test func aDeletedRuleIsMissing() throws {
        let rules = NFTablesRules(network: network, subnet: subnet, ipMasq: true, forwardRules: true)
        let listing = try Self.editing(Self.listedTable) { objects in objects.removeAll { Self.handle(of: $0) == 6 && Self.isRule($0) } }
        let found = try rules.differences(fromListing: listing)
        #expect(found.map(\.description) == ["missing postrtg: ip saddr 10.1.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random"])
        #expect(!found.contains { $0.needsNewTable }, "a flush and refill repairs it")
    }

    @Test func anEditedRuleIsMissingAndUnexpected() throws {
        let rules = NFTablesRules(network: network, subnet: subnet, ipMasq: true, forwardRules: true)
        let edited = Self.listedTable.replacingOccurrences(of: #"{"addr": "224.0.0.0", "len": 4}"#, with: #"{"addr": "224.0.0.0", "len": 8}"#)
        #expect(edited != Self.listedTable)
        #expect(try rules.differences(fromListing: edited).map(\.description) == [
            "missing postrtg: ip saddr 10.1.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random",
            "unexpected postrtg: ip saddr 10.1.0.0/16 ip daddr != 224.0.0.0/8 masquerade fully-random (handle 6)",
        ])
        // A counter added by hand makes it another rule too; an unknown statement shows as JSON.
        let counted = Self.listedTable.replacingOccurrences(of: #"{"accept": null}]}}, {"rule""#,
                                                             with: #"{"counter": {"packets": 0, "bytes": 0}}, {"accept": null}]}}, {"rule""#)
        #expect(try rules.differences(fromListing: counted).map(\.description).contains(
            #"unexpected forward: ip saddr 10.1.0.0/16 counter {"packets":0,"bytes":0} accept (handle 9)"#))
    }

    @Test func aDuplicatedOrMovedRuleIsFound() throws {
        let rules = NFTablesRules(network: network, subnet: subnet, ipMasq: true, forwardRules: true)
        let doubled = try Self.editing(Self.listedTable) { objects in
            let copy = try #require(objects.first { Self.handle(of: $0) == 9 && Self.isRule($0) })
            objects.append(copy)
        }
        #expect(try rules.differences(fromListing: doubled).map(\.description) == ["2 copies of forward: ip saddr 10.1.0.0/16 accept"])
        // The mark RETURN moved after the masquerades: too late to spare kube-proxy's packets.
        let moved = try Self.editing(Self.listedTable) { objects in
            let index = try #require(objects.firstIndex { Self.handle(of: $0) == 2 && Self.isRule($0) })
            let markRule = objects.remove(at: index)
            objects.insert(markRule, at: try #require(objects.firstIndex { Self.handle(of: $0) == 7 && Self.isRule($0) }) + 1)
        }
        #expect(try rules.differences(fromListing: moved) == [.outOfOrder(chain: "postrtg")])
    }

    @Test func aMissingChainOrOneWithAnotherHookIsFound() throws {
        let rules = NFTablesRules(network: network, subnet: subnet, ipMasq: true, forwardRules: true)
        let withoutForward = try Self.editing(Self.listedTable) { objects in
            objects.removeAll { $0.member("chain")?.member("name")?.stringValue == "forward" || $0.member("rule")?.member("chain")?.stringValue == "forward" }
        }
        let missing = try rules.differences(fromListing: withoutForward)
        #expect(missing.map(\.description) == ["chain forward missing"], "its rules go with it: not listed one by one")
        #expect(!missing.contains { $0.needsNewTable })
        let otherPriority = Self.listedTable.replacingOccurrences(of: #""prio": 100"#, with: #""prio": 110"#)
        let hooked = try rules.differences(fromListing: otherPriority)
        #expect(hooked.map(\.description) == ["chain postrtg is type nat hook postrouting priority 110 policy accept, not type nat hook postrouting priority 100 policy accept"])
        #expect(hooked.allSatisfy { $0.needsNewTable }, "the kernel refuses to re-hook an existing chain")
        let dropping = Self.listedTable.replacingOccurrences(of: #""prio": 0, "policy": "accept""#, with: #""prio": 0, "policy": "drop""#)
        #expect(try rules.differences(fromListing: dropping).map(\.description) == ["chain forward is type filter hook forward priority 0 policy drop, not type filter hook forward priority 0 policy accept"])
        // Masquerade only: the forward chain of an earlier run is someone else's now.
        let masqOnly = NFTablesRules(network: network, subnet: subnet, ipMasq: true, forwardRules: false)
        #expect(try masqOnly.differences(fromListing: Self.listedTable) == [.unexpectedChain("forward")])
    }

    // MARK: Leaving iptables mode

    @Test func switchingToNFTablesRemovesIPTablesModesJumpsThenChains() {
        #expect(TrafficRules.removalInput(saved: Self.iptablesSaved) == """
            *nat
            -D POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG
            -F FLANNEL-POSTRTG
            -X FLANNEL-POSTRTG
            COMMIT
            *filter
            -D FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD
            -F FLANNEL-FWD
            -X FLANNEL-FWD
            COMMIT

            """)
        #expect(TrafficRules.removalInput(saved: "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 192.168.0.0/16 -j MASQUERADE\nCOMMIT\n") == nil)
    }

    // MARK: Fixtures

    static func isRule(_ object: JSONValue) -> Bool { object.member("rule") != nil }
    static func handle(of object: JSONValue) -> Int? { object.member("rule")?.member("handle")?.integerValue }

    /// `json` with its objects edited (re-encoded compactly: the listing reads either form).
    static func editing(_ json: String, _ edit: (inout [JSONValue]) throws -> Void) throws -> String {
        guard case let .array(objects)? = try JSONParser.parse(json).member("nftables") else { throw ListingShape() }
        var edited = objects
        try edit(&edited)
        return JSONValue.object([("nftables", .array(edited))]).encoded
    }

    struct ListingShape: Error {}

    /// `nft -j list table ip flannel-ipv4` after the masquerade-and-forward transaction above.
    static let listedTable = #"""
{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "ip", "name": "flannel-ipv4", "handle": 1}}, {"chain": {"family": "ip", "table": "flannel-ipv4", "name": "postrtg", "handle": 1, "type": "nat", "hook": "postrouting", "prio": 100, "policy": "accept"}}, {"chain": {"family": "ip", "table": "flannel-ipv4", "name": "forward", "handle": 8, "type": "filter", "hook": "forward", "prio": 0, "policy": "accept"}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "postrtg", "handle": 2, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "mark"}}, "right": 16384}}, {"return": null}]}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "postrtg", "handle": 3, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.1.82.0", "len": 24}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"return": null}]}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "postrtg", "handle": 4, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.1.82.0", "len": 24}}}}, {"return": null}]}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "postrtg", "handle": 5, "expr": [{"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.1.82.0", "len": 24}}}}, {"return": null}]}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "postrtg", "handle": 6, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "224.0.0.0", "len": 4}}}}, {"masquerade": {"flags": "fully-random"}}]}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "postrtg", "handle": 7, "expr": [{"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"masquerade": {"flags": "fully-random"}}]}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "forward", "handle": 9, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"accept": null}]}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "forward", "handle": 10, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"accept": null}]}}]}
"""#

    /// The same after masquerade only, without fully-random.
    static let listedPlainTable = #"""
{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "ip", "name": "flannel-ipv4", "handle": 1}}, {"chain": {"family": "ip", "table": "flannel-ipv4", "name": "postrtg", "handle": 1, "type": "nat", "hook": "postrouting", "prio": 100, "policy": "accept"}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "postrtg", "handle": 2, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "mark"}}, "right": 16384}}, {"return": null}]}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "postrtg", "handle": 3, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.1.82.0", "len": 24}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"return": null}]}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "postrtg", "handle": 4, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.1.82.0", "len": 24}}}}, {"return": null}]}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "postrtg", "handle": 5, "expr": [{"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.1.82.0", "len": 24}}}}, {"return": null}]}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "postrtg", "handle": 6, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "224.0.0.0", "len": 4}}}}, {"masquerade": null}]}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "postrtg", "handle": 7, "expr": [{"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"masquerade": null}]}}]}
"""#

    /// `nft -j list ruleset` with iptables-nft's nat table and `table inet flannel-ipv4` beside ours.
    static let listedRuleset = #"""
{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "ip", "name": "flannel-ipv4", "handle": 1}}, {"chain": {"family": "ip", "table": "flannel-ipv4", "name": "postrtg", "handle": 1, "type": "nat", "hook": "postrouting", "prio": 100, "policy": "accept"}}, {"chain": {"family": "ip", "table": "flannel-ipv4", "name": "forward", "handle": 8, "type": "filter", "hook": "forward", "prio": 0, "policy": "accept"}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "postrtg", "handle": 2, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "mark"}}, "right": 16384}}, {"return": null}]}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "postrtg", "handle": 3, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.1.82.0", "len": 24}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"return": null}]}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "postrtg", "handle": 4, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.1.82.0", "len": 24}}}}, {"return": null}]}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "postrtg", "handle": 5, "expr": [{"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.1.82.0", "len": 24}}}}, {"return": null}]}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "postrtg", "handle": 6, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "224.0.0.0", "len": 4}}}}, {"masquerade": {"flags": "fully-random"}}]}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "postrtg", "handle": 7, "expr": [{"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"masquerade": {"flags": "fully-random"}}]}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "forward", "handle": 9, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"accept": null}]}}, {"rule": {"family": "ip", "table": "flannel-ipv4", "chain": "forward", "handle": 10, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.1.0.0", "len": 16}}}}, {"accept": null}]}}, {"table": {"family": "ip", "name": "nat", "handle": 2}}, {"chain": {"family": "ip", "table": "nat", "name": "POSTROUTING", "handle": 1, "type": "nat", "hook": "postrouting", "prio": 100, "policy": "accept"}}, {"rule": {"family": "ip", "table": "nat", "chain": "POSTROUTING", "handle": 2, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "192.168.0.0", "len": 16}}}}, {"counter": {"packets": 0, "bytes": 0}}, {"xt": {"type": "target", "name": "MASQUERADE"}}]}}, {"table": {"family": "inet", "name": "flannel-ipv4", "handle": 3}}]}
"""#

    /// `iptables-save -t nat; iptables-save -t filter` (iptables-nft 1.8.9) after a run in iptables mode.
    static let iptablesSaved = """
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:FLANNEL-POSTRTG - [0:0]
-A POSTROUTING -s 192.168.0.0/16 -j MASQUERADE
-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG
-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s 10.1.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:FLANNEL-FWD - [0:0]
-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD
-A FLANNEL-FWD -s 10.1.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT
COMMIT
"""
}
