import Agent
import Testing

/// `--ip-masq` and `--iptables-forward-rules` as iptables text (COMPAT.md "Traffic rules").
@Suite("iptables traffic rules")
struct TrafficRulesTests {
    let network = IPv4Network("10.1.0.0/16")!
    let subnet = IPv4Network("10.1.82.0/24")!

    @Test func theMasqueradeAndForwardRulesAreUpstreamsInOrder() {
        let rules = TrafficRules(network: network, subnet: subnet, ipMasq: true, forwardRules: true)
        #expect(rules.chainRules.map(\.line) == [
            #"-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN"#,
            #"-A FLANNEL-POSTRTG -s 10.1.82.0/24 -d 10.1.0.0/16 -m comment --comment "flanneld masq" -j RETURN"#,
            #"-A FLANNEL-POSTRTG -s 10.1.0.0/16 -d 10.1.82.0/24 -m comment --comment "flanneld masq" -j RETURN"#,
            #"-A FLANNEL-POSTRTG ! -s 10.1.0.0/16 -d 10.1.82.0/24 -m comment --comment "flanneld masq" -j RETURN"#,
            #"-A FLANNEL-POSTRTG -s 10.1.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully"#,
            #"-A FLANNEL-POSTRTG ! -s 10.1.0.0/16 -d 10.1.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully"#,
            #"-A FLANNEL-FWD -s 10.1.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT"#,
            #"-A FLANNEL-FWD -d 10.1.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT"#,
        ])
        #expect(rules.jumps.map(\.description) == [
            #"nat: -A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG"#,
            #"filter: -A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD"#,
        ])
        #expect(TrafficRules(network: network, subnet: subnet, ipMasq: false, forwardRules: false).isEmpty)
        #expect(TrafficRules(network: network, subnet: subnet, ipMasq: true, forwardRules: true, randomFully: false)
            .chainRules.allSatisfy { !$0.spec.contains("random") })
    }

    @Test func restoringDeclaresOurChainsAndAddsAJumpOnlyWhenMissing() {
        let rules = TrafficRules(network: network, subnet: subnet, ipMasq: true, forwardRules: false)
        let fresh = rules.restoreInput(saved: "*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n")
        #expect(fresh.hasPrefix("*nat\n:FLANNEL-POSTRTG - [0:0]\n-A FLANNEL-POSTRTG -m mark"))
        #expect(fresh.contains("-A POSTROUTING -m comment --comment \"flanneld masq\" -j FLANNEL-POSTRTG\nCOMMIT\n"))
        #expect(!fresh.contains("*filter"))
        let again = rules.restoreInput(saved: #"-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG"#)
        #expect(!again.contains("-A POSTROUTING"), "a second jump would run the chain twice")
    }

    @Test func differencesNameMissingAndForeignRules() {
        let rules = TrafficRules(network: network, subnet: subnet, ipMasq: false, forwardRules: true)
        let complete = (rules.chainRules + rules.jumps).map(\.line).joined(separator: "\n")
        #expect(rules.differences(fromSaved: "*filter\n:FLANNEL-FWD - [0:0]\n" + complete + "\nCOMMIT\n").isEmpty)
        let missing = rules.differences(fromSaved: rules.jumps[0].line)
        #expect(missing.count == 2 && missing.allSatisfy { $0.hasPrefix("missing filter: -A FLANNEL-FWD") })
        let foreign = rules.differences(fromSaved: complete + "\n-A FLANNEL-FWD -j DROP")
        #expect(foreign == ["unexpected -A FLANNEL-FWD -j DROP"])
    }

    @Test func rulesOutOfOrderAndDuplicateJumpsAreRepaired() {
        let rules = TrafficRules(network: network, subnet: subnet, ipMasq: true, forwardRules: false)
        let lines = rules.chainRules.map(\.line)
        // The mark RETURN moved after the MASQUERADE rules would masquerade twice.
        let reordered = (Array(lines.dropFirst()) + [lines[0]] + rules.jumps.map(\.line)).joined(separator: "\n")
        #expect(rules.differences(fromSaved: reordered) == ["FLANNEL-POSTRTG out of order or with duplicates"])
        let doubled = (lines + rules.jumps.map(\.line) + rules.jumps.map(\.line)).joined(separator: "\n")
        #expect(rules.differences(fromSaved: doubled) == [#"2 copies of nat: -A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG"#])
        let input = rules.restoreInput(saved: doubled)
        #expect(input.contains(#"-D POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG"#))
        #expect(!input.contains("-A POSTROUTING"))
    }
}

/// The IPv6 half of a dual-stack network in ip6tables.
@Suite("ip6tables traffic rules")
struct IPv6TrafficRulesTests {
    @Test func theIPv6RulesAreTheIPv4OnesWithIPv6MulticastInIP6Tables() {
        let rules = TrafficRules(ipv6Network: IPv6Network("fd00:1::/56")!, subnet: IPv6Network("fd00:1:0:82::/64")!, ipMasq: true, forwardRules: true)
        #expect(rules.family.tool == "ip6tables")
        #expect(rules.chainRules.map(\.line) == [
            #"-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN"#,
            #"-A FLANNEL-POSTRTG -s fd00:1:0:82::/64 -d fd00:1::/56 -m comment --comment "flanneld masq" -j RETURN"#,
            #"-A FLANNEL-POSTRTG -s fd00:1::/56 -d fd00:1:0:82::/64 -m comment --comment "flanneld masq" -j RETURN"#,
            #"-A FLANNEL-POSTRTG ! -s fd00:1::/56 -d fd00:1:0:82::/64 -m comment --comment "flanneld masq" -j RETURN"#,
            #"-A FLANNEL-POSTRTG -s fd00:1::/56 ! -d ff00::/8 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully"#,
            #"-A FLANNEL-POSTRTG ! -s fd00:1::/56 -d fd00:1::/56 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully"#,
            #"-A FLANNEL-FWD -s fd00:1::/56 -m comment --comment "flanneld forward" -j ACCEPT"#,
            #"-A FLANNEL-FWD -d fd00:1::/56 -m comment --comment "flanneld forward" -j ACCEPT"#,
        ])
        let plain = rules.withoutRandomFully
        #expect(!plain.randomFully && plain.chainRules.allSatisfy { !$0.spec.contains("random") })
        #expect(plain == TrafficRules(ipv6Network: IPv6Network("fd00:1::/56")!, subnet: IPv6Network("fd00:1:0:82::/64")!,
                                      ipMasq: true, forwardRules: true, randomFully: false))
    }
}
