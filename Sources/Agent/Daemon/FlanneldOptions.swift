import ArgumentParser

/// flanneld's command line, with upstream's flag names. Go's flag package accepts `-flag` and
/// `--flag`, `-flag=value` and `-flag value`, and bare booleans; every flag may also come from
/// `FLANNELD_<FLAG>` (upper case, dashes to underscores), the command line winning. glog's
/// flags (`-v`, `-logtostderr`, `-log_dir`, …) are honoured as upstream's; flags of modes this
/// agent lacks are refused by `FlanneldCommandLine` with their reason (`UnsupportedFlag`).
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

    @Option(name: .customLong("public-ipv6"), help: "IPv6 accessible by other nodes for inter-host communication (dual-stack)")
    public var publicIPv6: String?

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

    @Option(name: .customLong("wireguard-implementation"), help: "wireguard backend: auto (the kernel's WireGuard if it has one, else wireguard-go), kernel, or userspace (wireguard-go from PATH, or WG_QUICK_USERSPACE_IMPLEMENTATION)")
    public var wireguardImplementation: WireGuardImplementation = .auto

    // glog's flags, as flannel 0.7 (all of them) and 0.20.2 (-v, -vmodule, -log_backtrace_at) take them.

    @Option(name: .customLong("v"), help: "log verbosity, as glog's -v: 0 info and up, 1 to 4 adds debug, 5 and up adds trace")
    public var verbosity: Int?

    @Option(name: .customLong("logtostderr"), help: "log to standard error instead of files (true, the default, as upstream flanneld sets it)",
            transform: FlanneldOptions.boolean)
    public var logToStandardError = true

    @Option(name: .customLong("alsologtostderr"), help: "log to standard error as well as files (true/false)",
            transform: FlanneldOptions.boolean)
    public var alsoLogToStandardError = false

    @Option(name: .customLong("log_dir"), help: "with -logtostderr=false: write glog-style log files in this directory (default: $TMPDIR or /tmp)")
    public var logDirectory = ""

    @Option(name: .customLong("stderrthreshold"), help: "with -logtostderr=false: logs at or above this severity (INFO, WARNING, ERROR, FATAL) also go to standard error")
    public var standardErrorThreshold: GlogSeverity = .error

    @Option(name: .customLong("vmodule"), help: "glog's per-file verbosity; accepted, without effect (our logs are not per source file)")
    public var vmodule: String?

    @Option(name: .customLong("log_backtrace_at"), help: "glog's file:line stack trace trigger; accepted, without effect")
    public var logBacktraceAt: String?

    @Flag(name: .customLong("print-flags"), help: "print the settings flanneld would run with (flags, FLANNELD_* variables and defaults) and exit")
    public var printFlags = false

    @Flag(name: .customLong("version"), help: "print version and exit")
    public var version = false

    /// Parses Go-style booleans, as Go's strconv.ParseBool.
    static func boolean(_ text: String) throws -> Bool {
        switch text {
        case "true", "1", "t", "T", "TRUE", "True": return true
        case "false", "0", "f", "F", "FALSE", "False": return false
        default: throw ValidationError("\"\(text)\" is not a boolean; use true or false")
        }
    }

    /// Flags whose bare form (`--ip-masq`) means true, as with Go's flag package.
    static let booleanFlags: Set<String> = ["ip-masq", "iptables-forward-rules", "logtostderr", "alsologtostderr"]

    /// The long names of every option that takes a value, for the environment fallback.
    static let names: [String] = [
        "etcd-endpoints", "etcd-prefix", "etcd-api", "etcd-cafile", "etcd-certfile", "etcd-keyfile", "etcd-username",
        "etcd-password", "etcd-password-file", "iface", "iface-regex", "iface-can-reach", "public-ip", "public-ipv6", "subnet-file",
        "subnet-lease-renew-margin", "subnet-lease-ttl", "ip-masq", "iptables-resync", "iptables-forward-rules",
        "healthz-ip", "healthz-port", "udp-offload", "wireguard-implementation",
        "v", "logtostderr", "alsologtostderr", "log_dir", "stderrthreshold", "vmodule", "log_backtrace_at",
    ]

    /// Parses upstream-style arguments plus `FLANNELD_*` variables (see `FlanneldCommandLine`).
    public static func parseUpstream(_ arguments: [String], environment: [String: String]) throws -> FlanneldOptions {
        try FlanneldCommandLine.parse(arguments, environment: environment).options
    }

    /// Every setting as `name=value`, in flag order; the password never shown.
    public var settings: [(name: String, value: String)] {
        func text(_ value: String?) -> String { value ?? "" }
        return [
            ("etcd-endpoints", etcdEndpoints), ("etcd-prefix", etcdPrefix), ("etcd-api", etcdAPI.rawValue),
            ("etcd-cafile", text(etcdCAFile)), ("etcd-certfile", text(etcdCertFile)), ("etcd-keyfile", text(etcdKeyFile)),
            ("etcd-username", text(etcdUsername)), ("etcd-password", etcdPassword == nil ? "" : "(set, not shown)"),
            ("etcd-password-file", text(etcdPasswordFile)), ("iface", iface.joined(separator: ",")),
            ("iface-regex", ifaceRegex.joined(separator: ",")), ("iface-can-reach", text(ifaceCanReach)),
            ("public-ip", text(publicIP)), ("public-ipv6", text(publicIPv6)), ("subnet-file", subnetFile),
            ("subnet-lease-renew-margin", String(subnetLeaseRenewMargin)), ("subnet-lease-ttl", subnetLeaseTTL),
            ("ip-masq", String(ipMasq)), ("iptables-resync", String(iptablesResync)),
            ("iptables-forward-rules", String(iptablesForwardRules)), ("healthz-ip", healthzIP),
            ("healthz-port", String(healthzPort)), ("udp-offload", udpOffload.rawValue), ("wireguard-implementation", wireguardImplementation.rawValue),
            ("v", String(verbosity ?? 0)), ("logtostderr", String(logToStandardError)),
            ("alsologtostderr", String(alsoLogToStandardError)), ("log_dir", logDirectory),
            ("stderrthreshold", standardErrorThreshold.name), ("vmodule", text(vmodule)),
            ("log_backtrace_at", text(logBacktraceAt)),
        ]
    }
}
