@testable import AgentCore
@testable import Agent
import Testing

@Suite("flanneld command line")
struct FlanneldOptionsTests {
    /// The walkthrough's FLANNEL_OPTIONS, single-dash as flannel 0.7 took them.
    @Test func walkthroughOptionsParse() throws {
        let options = try FlanneldOptions.parseUpstream([
            "-etcd-endpoints=https://10.12.10.209:2379,https://10.12.10.200:2379,https://10.12.10.210:2379",
            "-etcd-prefix=/flannel-test/network",
            "-etcd-cafile=/etc/pki/etcd/cacert.pem", "-etcd-certfile=/etc/pki/etcd/etcd.crt",
            "-etcd-keyfile=/etc/pki/etcd/private/etcd.key", "-etcd-username=flannel-test", "-etcd-password=mypassword",
        ], environment: [:])
        #expect(options.etcdEndpoints.hasPrefix("https://10.12.10.209:2379,"))
        #expect(options.etcdPrefix == "/flannel-test/network")
        #expect(options.etcdCAFile == "/etc/pki/etcd/cacert.pem")
        #expect(options.etcdUsername == "flannel-test")
        #expect(options.etcdPassword == "mypassword")
    }

    @Test func upstreamDefaults() throws {
        let options = try FlanneldOptions.parseUpstream([], environment: [:])
        #expect(options.etcdEndpoints == "http://127.0.0.1:4001,http://127.0.0.1:2379")
        #expect(options.etcdPrefix == "/coreos.com/network")
        #expect(options.subnetFile == "/run/flannel/subnet.env")
        #expect(options.subnetLeaseRenewMargin == 60)
        #expect(!options.ipMasq)
        #expect(options.iptablesForwardRules)
        #expect(options.iface.isEmpty)
    }

    @Test func environmentFillsInAndTheCommandLineWins() throws {
        let environment = [
            "FLANNELD_ETCD_PREFIX": "/from-env",
            "FLANNELD_IFACE": "eth1,10.0.0.5",
            "FLANNELD_IP_MASQ": "true",
            "FLANNELD_SUBNET_FILE": "/tmp/env.env",
        ]
        let options = try FlanneldOptions.parseUpstream(["--etcd-prefix", "/from-flag", "-subnet-file=/tmp/flag.env"], environment: environment)
        #expect(options.etcdPrefix == "/from-flag")
        #expect(options.subnetFile == "/tmp/flag.env")
        #expect(options.iface == ["eth1", "10.0.0.5"])
        #expect(options.ipMasq)
    }

    @Test func goStyleBooleansAndRepeatedIface() throws {
        let options = try FlanneldOptions.parseUpstream(["-ip-masq", "--iptables-forward-rules=false", "-iface=eth0", "--iface", "eth1"], environment: [:])
        #expect(options.ipMasq)
        #expect(!options.iptablesForwardRules)
        #expect(options.iface == ["eth0", "eth1"])
        #expect(try FlanneldOptions.parseUpstream(["-version"], environment: [:]).version)
    }

    @Test(arguments: [["--no-such-flag"], ["--ip-masq=maybe"], ["--healthz-port=abc"]])
    func badFlagsAreErrors(arguments: [String]) {
        #expect(throws: (any Error).self) { try FlanneldOptions.parseUpstream(arguments, environment: [:]) }
    }

    @Test(arguments: [("24h", 86_400), ("90m", 5_400), ("8s", 8), ("1h30m", 5_400), ("3600", 3_600)])
    func leaseTTLs(text: String, seconds: Int64) throws {
        #expect(try LeaseTTLText.parse(text) == .seconds(seconds))
        // Written back as an operator would, it parses to the same TTL.
        #expect(try LeaseTTLText.parse(LeaseTTLText.text(for: .seconds(seconds))) == .seconds(seconds))
    }

    @Test(arguments: ["", "0", "-5", "5x", "h", "1.5h", "24 h", "1hh"])
    func badLeaseTTLs(text: String) {
        #expect { try LeaseTTLText.parse(text) } throws: { "\($0)".contains("--subnet-lease-ttl") }
    }

    /// Values that used to overflow (a trap, SIGILL) are errors that name the limit.
    @Test(arguments: ["9999999999999999h", "99999999999999999999", "9000000001", "2562048h", "9223372036854775807s",
                      "2500000h2500000h", "150000001m"])
    func hugeLeaseTTLsAreErrorsNotTraps(text: String) throws {
        #expect { try LeaseTTLText.parse(text) } throws: { "\($0)".contains("longer than etcd's longest lease (9000000000 s") }
        #expect(try LeaseTTLText.parse("9000000000") == .seconds(9_000_000_000))
        #expect { try LeaseTTLText.parse("000") } throws: { "\($0)".contains("is not a duration") }
    }

    @Test func aRevisionThatCannotBeFollowedIsAnErrorNotATrap() throws {
        #expect(try EtcdRevision.after(41) == 42)
        #expect { try EtcdRevision.after(.max) } throws: { "\($0)".contains("revision 9223372036854775807 is the largest there is") }
    }
}

@Suite("Interface selection")
struct InterfaceSelectionTests {
    static let interfaces = [
        NetworkInterface(name: "lo", address: IPv4Address(127, 0, 0, 1), mtu: 65_536),
        NetworkInterface(name: "eth0", address: IPv4Address(10, 12, 10, 200), mtu: 1500),
        NetworkInterface(name: "eth1", address: IPv4Address(192, 0, 2, 7), mtu: 9000),
    ]

    static func select(_ selection: InterfaceSelection, defaultRoute: String? = "eth0") throws -> (String, String) {
        let (interface, address) = try selection.select(from: interfaces, defaultRoute: defaultRoute) { target in
            target.bits >> 24 == 192 ? IPv4Address(192, 0, 2, 7) : nil
        }
        return (interface.name, address.description)
    }

    @Test func defaultRouteInterfaceByDefault() throws {
        #expect(try Self.select(.init(ifaces: [], ifaceRegexes: [], canReach: nil, publicIP: nil)) == ("eth0", "10.12.10.200"))
    }

    @Test func ifaceByNameOrAddressInOrder() throws {
        #expect(try Self.select(.init(ifaces: ["eth9", "192.0.2.7"], ifaceRegexes: [], canReach: nil, publicIP: nil)) == ("eth1", "192.0.2.7"))
        #expect(try Self.select(.init(ifaces: ["eth1"], ifaceRegexes: [], canReach: nil, publicIP: nil)) == ("eth1", "192.0.2.7"))
    }

    @Test func regexCanReachAndPublicIP() throws {
        #expect(try Self.select(.init(ifaces: [], ifaceRegexes: ["^eth1$"], canReach: nil, publicIP: nil)).0 == "eth1")
        #expect(try Self.select(.init(ifaces: [], ifaceRegexes: [], canReach: "192.0.2.99", publicIP: nil)).0 == "eth1")
        #expect(try Self.select(.init(ifaces: [], ifaceRegexes: [], canReach: nil, publicIP: "203.0.113.5")) == ("eth0", "203.0.113.5"))
    }

    @Test func failuresSayWhatExists() {
        #expect {
            try Self.select(.init(ifaces: ["eth9"], ifaceRegexes: [], canReach: nil, publicIP: nil))
        } throws: { "\($0)".contains("--iface") && "\($0)".contains("eth1 (192.0.2.7") }
        #expect {
            try Self.select(.init(ifaces: [], ifaceRegexes: [], canReach: nil, publicIP: nil), defaultRoute: nil)
        } throws: { "\($0)".contains("no default route") && "\($0)".contains("pass --iface") }
        #expect {
            try Self.select(.init(ifaces: [], ifaceRegexes: ["("], canReach: nil, publicIP: nil))
        } throws: { "\($0)".contains("not a valid regular expression") }
        #expect {
            try Self.select(.init(ifaces: [], ifaceRegexes: [], canReach: nil, publicIP: "nope"))
        } throws: { "\($0)".contains("--public-ip") }
    }
}
