import ArgumentParser

/// flanneld's command line, with upstream's flag names. Go's flag package accepts `-flag` and
/// `--flag`, `-flag=value` and `-flag value`, and bare booleans; every flag may also come from
/// `FLANNELD_<FLAG>` (upper case, dashes to underscores), the command line winning.
public struct FlanneldOptions: ParsableArguments, Sendable {
    public init() {}

    @Option(name: .customLong("etcd-endpoints"), help: "a comma-separated list of etcd endpoints")
    public var etcdEndpoints = "http://127.0.0.1:4001,http://127.0.0.1:2379"

    @Option(name: .customLong("etcd-prefix"), help: "etcd prefix")
    public var etcdPrefix = EtcdKeyLayout.defaultPrefix

    @Option(name: .customLong("etcd-api"), help: "etcd API holding the config and leases: v3, v2, or auto (v3, else v2 when only v2 has the config)")
    public var etcdAPI: EtcdAPI = .auto

    @Option(name: .customLong("etcd-cafile"), help: "SSL Certificate Authority file used to secure etcd communication")
    public var etcdCAFile: String?

    @Option(name: .customLong("etcd-certfile"), help: "SSL certification file used to secure etcd communication")
    public var etcdCertFile: String?

    @Option(name: .customLong("etcd-keyfile"), help: "SSL key file used to secure etcd communication")
    public var etcdKeyFile: String?

    @Option(name: .customLong("etcd-username"), help: "username for BasicAuth to etcd")
    public var etcdUsername: String?

    @Option(name: .customLong("etcd-password"), help: "password for BasicAuth to etcd (prefer --etcd-password-file)")
    public var etcdPassword: String?

    @Option(name: .customLong("etcd-password-file"), help: "file whose first line is the etcd password (keeps it out of ps)")
    public var etcdPasswordFile: String?

    @Option(name: .customLong("iface"), help: "interface to use (IP or name) for inter-host communication; repeatable")
    public var iface: [String] = []

    @Option(name: .customLong("iface-regex"), help: "regex expression to match the first interface to use (IP or name); repeatable")
    public var ifaceRegex: [String] = []

    @Option(name: .customLong("iface-can-reach"), help: "detect the interface to use by the route to this address")
    public var ifaceCanReach: String?

    @Option(name: .customLong("public-ip"), help: "IP accessible by other nodes for inter-host communication")
    public var publicIP: String?

    @Option(name: .customLong("subnet-file"), help: "filename where env variables (subnet, MTU, ...) will be written to")
    public var subnetFile = "/run/flannel/subnet.env"

    @Option(name: .customLong("subnet-lease-renew-margin"), help: "subnet lease renewal margin, in minutes, ranging from 1 to 1439")
    public var subnetLeaseRenewMargin = 60

    @Option(name: .customLong("subnet-lease-ttl"), help: "subnet lease TTL: 24h (default), 90m, 8s, or seconds")
    public var subnetLeaseTTL = "24h"

    @Option(name: .customLong("ip-masq"), help: "setup IP masquerade rule for traffic destined outside of overlay network (true/false)",
            transform: FlanneldOptions.boolean)
    public var ipMasq = false

    @Option(name: .customLong("iptables-resync"), help: "resync period for iptables rules, in seconds")
    public var iptablesResync = 5

    @Option(name: .customLong("iptables-forward-rules"), help: "add default accept rules to FORWARD chain in iptables (true/false)",
            transform: FlanneldOptions.boolean)
    public var iptablesForwardRules = true

    @Option(name: .customLong("healthz-ip"), help: "the IP address for healthz server to listen")
    public var healthzIP = "0.0.0.0"

    @Option(name: .customLong("healthz-port"), help: "the port for healthz server to listen (0 to disable)")
    public var healthzPort = 0

    @Option(name: .customLong("udp-offload"), help: "udp backend fast path: auto (TUN TSO, UDP GSO/GRO where the kernel takes them) or off (no offloads; packets still sent and received in batches)")
    public var udpOffload: UDPOffloadMode = .auto

    @Flag(name: .customLong("version"), help: "print version and exit")
    public var version = false

    /// Parses Go-style booleans: true/false, 1/0, t/f.
    static func boolean(_ text: String) throws -> Bool {
        switch text.lowercased() {
        case "true", "1", "t": return true
        case "false", "0", "f": return false
        default: throw ValidationError("\"\(text)\" is not a boolean; use true or false")
        }
    }

    /// Flags whose bare form (`--ip-masq`) means true, as with Go's flag package.
    static let booleanFlags: Set<String> = ["ip-masq", "iptables-forward-rules"]

    /// The long names of every option, for the environment fallback.
    static let names: [String] = [
        "etcd-endpoints", "etcd-prefix", "etcd-api", "etcd-cafile", "etcd-certfile", "etcd-keyfile", "etcd-username",
        "etcd-password", "etcd-password-file", "iface", "iface-regex", "iface-can-reach", "public-ip", "subnet-file",
        "subnet-lease-renew-margin", "subnet-lease-ttl", "ip-masq", "iptables-resync", "iptables-forward-rules",
        "healthz-ip", "healthz-port", "udp-offload",
    ]

    /// Parses upstream-style arguments plus `FLANNELD_*` variables.
    public static func parseUpstream(_ arguments: [String], environment: [String: String]) throws -> FlanneldOptions {
        let normalized = normalize(arguments)
        let given = Set(normalized.compactMap { argument -> String? in
            guard argument.hasPrefix("--") else { return nil }
            return String(argument.dropFirst(2).split(separator: "=", maxSplits: 1).first ?? "")
        })
        var fromEnvironment: [String] = []
        for name in names where !given.contains(name) {
            let variable = "FLANNELD_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
            guard let value = environment[variable] else { continue }
            if name == "iface" || name == "iface-regex" {
                // Upstream takes a comma-separated list from the environment.
                for item in value.split(separator: ",") { fromEnvironment.append("--\(name)=\(item)") }
            } else {
                fromEnvironment.append("--\(name)=\(value)")
            }
        }
        return try parse(fromEnvironment + normalized)
    }

    /// `-flag` → `--flag`; bare boolean flags → `--flag=true`.
    static func normalize(_ arguments: [String]) -> [String] {
        var result: [String] = []
        var index = 0
        while index < arguments.count {
            var argument = arguments[index]
            if argument == "--" {
                result.append(contentsOf: arguments[index...])
                break
            }
            if argument.hasPrefix("-") && !argument.hasPrefix("--") && argument.count > 2 {
                argument = "-" + argument
            }
            if argument.hasPrefix("--") {
                let name = String(argument.dropFirst(2))
                if booleanFlags.contains(name) {
                    // A following true/false belongs to it only in the `=` form in Go.
                    argument += "=true"
                }
            }
            result.append(argument)
            index += 1
        }
        return result
    }
}
