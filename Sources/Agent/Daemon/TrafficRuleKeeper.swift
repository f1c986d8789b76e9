import FoundationEssentials
import Logging

/// Keeps the `--ip-masq` and `--iptables-forward-rules` rules in force with the tool the
/// network config chose: iptables chains, or with `"EnableNFTables": true` our nftables table
/// (and then never iptables, which the host may not have). One path for both, so start-up,
/// resync and a moved lease behave the same whichever tool does the work.
struct TrafficRuleKeeper {
    enum Rules {
        /// The IPv4 rules (none on an IPv6-only network), and with IPv6 the ip6tables ones.
        case iptables(TrafficRules?, ipv6: TrafficRules?)
        case nftables(NFTablesRules)
    }

    /// The rules in force (without random-fully once the kernel or tool refused it).
    private(set) var rules: Rules
    /// The subnets the rules are made for.
    private(set) var subnets: OwnSubnets
    private let useNFTables: Bool
    private let ipMasq: Bool
    private let forwardRules: Bool
    private let logger: Logger

    init(useNFTables: Bool, subnets: OwnSubnets, ipMasq: Bool, forwardRules: Bool, logger: Logger) {
        self.subnets = subnets
        self.useNFTables = useNFTables
        // nftables rules are IPv4 ones (the agent refuses nftables with IPv6 rules to keep).
        if useNFTables, let network = subnets.network, let subnet = subnets.subnet {
            rules = .nftables(NFTablesRules(network: network, subnet: subnet, ipMasq: ipMasq, forwardRules: forwardRules))
        } else {
            rules = .iptables(Self.ipv4Rules(subnets, ipMasq: ipMasq, forwardRules: forwardRules, randomFully: true),
                              ipv6: Self.ipv6Rules(subnets, ipMasq: ipMasq, forwardRules: forwardRules, randomFully: true))
        }
        self.ipMasq = ipMasq
        self.forwardRules = forwardRules
        self.logger = logger
    }

    /// The tool doing the work, for log lines.
    var tool: String {
        switch rules {
        case .iptables(nil, _?): "ip6tables"
        case .iptables: "iptables"
        case .nftables: "nftables"
        }
    }

    /// The IPv4 iptables rules, unless the network is IPv6-only.
    private static func ipv4Rules(_ subnets: OwnSubnets, ipMasq: Bool, forwardRules: Bool, randomFully: Bool) -> TrafficRules? {
        guard let network = subnets.network, let subnet = subnets.subnet else { return nil }
        return TrafficRules(network: network, subnet: subnet, ipMasq: ipMasq, forwardRules: forwardRules, randomFully: randomFully)
    }

    /// The IPv6 half's ip6tables rules, on a network with IPv6.
    private static func ipv6Rules(_ subnets: OwnSubnets, ipMasq: Bool, forwardRules: Bool, randomFully: Bool) -> TrafficRules? {
        guard let network = subnets.ipv6Network, let subnet = subnets.ipv6Subnet else { return nil }
        return TrafficRules(ipv6Network: network, subnet: subnet, ipMasq: ipMasq, forwardRules: forwardRules, randomFully: randomFully)
    }

    var isEmpty: Bool {
        switch rules {
        case let .iptables(rules, ipv6): (rules?.isEmpty ?? true) && (ipv6?.isEmpty ?? true)
        case let .nftables(rules): rules.isEmpty
        }
    }

    /// What is in place, for the start-up log line.
    var summary: String {
        switch rules {
        case let .iptables(rules, ipv6):
            [rules.map { "\($0.chainRules.count + $0.jumps.count) rules in place (\($0.tables.joined(separator: ", ")) tables)" },
             ipv6.map { "\(rules == nil ? "" : "ip6tables: ")\($0.chainRules.count + $0.jumps.count) rules in place" }].compactMap { $0 }.joined(separator: "; ")
        case let .nftables(rules):
            "\(rules.rules.count) rules in place (table \(NFTablesRules.family) \(NFTablesRules.tableName), chains \(rules.chains.map(\.name).joined(separator: ", ")))"
        }
    }

    /// Re-makes the rules for our new lease's `subnets` (random-fully as before).
    mutating func move(to subnets: OwnSubnets) {
        self.subnets = subnets
        switch rules {
        case let .iptables(old, oldIPv6):
            rules = .iptables(Self.ipv4Rules(subnets, ipMasq: ipMasq, forwardRules: forwardRules, randomFully: old?.randomFully ?? true),
                              ipv6: Self.ipv6Rules(subnets, ipMasq: ipMasq, forwardRules: forwardRules, randomFully: oldIPv6?.randomFully ?? true))
        case let .nftables(old):
            guard let subnet = subnets.subnet else { return }
            rules = .nftables(NFTablesRules(network: old.network, subnet: subnet, ipMasq: ipMasq, forwardRules: forwardRules, randomFully: old.randomFully))
        }
    }

    /// Makes the kernel's rules ours (restoring anything missing or edited, logged with what
    /// was wrong unless `quiet`); keeps the rules in force (without random-fully when this
    /// kernel or tool refuses it). Returns what was wrong (empty: nothing to do).
    @discardableResult
    mutating func keep(quiet: Bool) async throws -> [String] {
        var problems: [String] = []
        // The tools that refused random-fully (the notice names them).
        var refusedRandomFully: [String] = []
        defer {
            if !problems.isEmpty && !quiet {
                logger.warning("\(tool) rules changed behind our back (\(problems.prefix(3).joined(separator: "; "))\(problems.count > 3 ? "; …" : "")); restored")
            }
            for refusing in refusedRandomFully {
                logger.notice("\(refusing): masquerading without \(refusing == "nftables" ? "fully-random" : "--random-fully") (refused here)")
            }
        }
        switch rules {
        case let .iptables(wanted, wantedIPv6):
            var inForce = wanted
            if let wanted {
                let (found, kept) = try await IPTables.ensure(wanted, fallback: wanted.randomFully ? wanted.withoutRandomFully : nil)
                // Kept before the IPv6 half is tried: an ip6tables failure must not make the
                // IPv4 rules be restored again at every resync.
                rules = .iptables(kept, ipv6: wantedIPv6)
                (problems, inForce) = (found, kept)
                if kept != wanted { refusedRandomFully.append(TrafficRules.Family.ipv4.tool) }
            }
            if let wantedIPv6 {
                let (foundIPv6, ipv6InForce) = try await IPTables.ensure(wantedIPv6, fallback: wantedIPv6.randomFully ? wantedIPv6.withoutRandomFully : nil)
                rules = .iptables(inForce, ipv6: ipv6InForce)
                problems += foundIPv6.map { "ip6tables: \($0)" }
                if ipv6InForce != wantedIPv6 { refusedRandomFully.append(TrafficRules.Family.ipv6.tool) }
            }
        case let .nftables(wanted):
            let plain = NFTablesRules(network: wanted.network, subnet: wanted.subnet, ipMasq: ipMasq, forwardRules: forwardRules, randomFully: false)
            let (found, inForce) = try await NFTables.ensure(wanted, fallback: wanted.randomFully ? plain : nil)
            (problems, rules) = (found, .nftables(inForce))
            if inForce != wanted { refusedRandomFully.append("nftables") }
        }
        return problems
    }

    /// Removes what the other mode left (upstream does the same on start): with nftables,
    /// iptables mode's chains and jumps if iptables is installed; with iptables, our nftables
    /// table if nft is installed. Best effort: a failure is logged, never fatal.
    func removeOtherModesLeftovers() async {
        switch rules {
        case .nftables:
            guard Self.isInstalled("iptables-save") && Self.isInstalled("iptables-restore") else { return }
            do {
                let input = try await RuleTool.offThePool { () throws(IPTables.Failure) -> String? in
                    let saved = try IPTables.save(tables: ["nat", "filter"])
                    guard let input = TrafficRules.removalInput(saved: saved) else { return nil }
                    try IPTables.restore(input)
                    return input
                }
                if input != nil {
                    logger.notice("removed iptables mode's chains \(TrafficRules.masqChain)/\(TrafficRules.forwardChain) and their jumps (EnableNFTables is true: the rules are in nftables table \(NFTablesRules.family) \(NFTablesRules.tableName))")
                }
            } catch {
                logger.warning("could not remove iptables mode's chains \(TrafficRules.masqChain)/\(TrafficRules.forwardChain): \(error); they still apply alongside the nftables rules: delete them by hand (iptables -t nat -F/-X, iptables -F/-X and their jumps)")
            }
        case .iptables:
            // IPv6-only with EnableNFTables (and no rules to keep): the nftables table is not a leftover.
            guard !useNFTables, Self.isInstalled("nft") else { return }
            do {
                if try await NFTables.removeTable() {
                    logger.notice("removed nftables table \(NFTablesRules.family) \(NFTablesRules.tableName) left by a run with EnableNFTables (now false: the rules are in iptables)")
                }
            } catch {
                logger.warning("could not remove nftables table \(NFTablesRules.family) \(NFTablesRules.tableName) left by a run with EnableNFTables: \(error); it still applies alongside the iptables rules: nft delete table \(NFTablesRules.family) \(NFTablesRules.tableName)")
            }
        }
    }

    /// Whether `name` is an executable in `PATH`, as `/usr/bin/env` would find it.
    private static func isInstalled(_ name: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }
}
