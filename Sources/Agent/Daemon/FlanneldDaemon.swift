import CLinuxShims
import Glibc
import Logging
import ServiceLifecycle

/// The agent on a real host: checks what it needs (capabilities, options, the interface), then
/// runs the agent machine (`AgentMachine`, carried out by `AgentRunner`) and the health server
/// as the services of one group: SIGTERM or SIGINT ends both gracefully.
public struct FlanneldDaemon {
    public let options: FlanneldOptions
    public let environment: [String: String]
    let logger: Logger
    /// What `/metrics` shows.
    let metrics = AgentMetrics()

    public init(options: FlanneldOptions, environment: [String: String], logger: Logger) {
        self.options = options
        self.environment = environment
        self.logger = logger
    }

    public struct Fatal: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Runs until SIGTERM/SIGINT (returns: exit 0, the lease kept) or a fatal error (thrown).
    public func run() async throws {
        // A child (iptables, nft) that exits before reading its input must not kill us with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        OpenFileLimit.raiseToHardLimit()
        guard flannel_has_cap_net_admin() else {
            throw Fatal("flanneld needs CAP_NET_ADMIN to create flannel0 and its routes: run it as root (or `setcap cap_net_admin+ep` on the binary)")
        }
        let endpoints = try EtcdEndpoint.parseList(options.etcdEndpoints)
        let password = try EtcdPassword.resolve(flag: options.etcdPassword, file: options.etcdPasswordFile, environment: environment)
        let ttl = try LeaseTTLText.parse(options.subnetLeaseTTL)
        guard (1...1439).contains(options.subnetLeaseRenewMargin) else {
            throw Fatal("--subnet-lease-renew-margin: \(options.subnetLeaseRenewMargin) is out of range; use 1 to 1439 (minutes)")
        }
        let selection = InterfaceSelection(ifaces: options.iface, ifaceRegexes: options.ifaceRegex,
                                           canReach: options.ifaceCanReach, publicIP: options.publicIP)
        let (external, publicIP) = try selection.select(
            from: NetworkInterface.all(), defaultRoute: NetworkInterface.defaultRouteInterfaceName(),
            routeSource: NetworkInterface.sourceAddress(toward:))
        if external.hasIPv4 || publicIP != .any {
            logger.info("using interface \(external.name) with address \(external.address); public IP \(publicIP)")
        } else {
            logger.info("using interface \(external.name), which has no IPv4 address (an IPv6-only network can run; the lease says PublicIP 0.0.0.0)")
        }
        let externalIPv6 = NetworkInterface.globalIPv6Addresses(of: external.name).first
        var publicIPv6 = externalIPv6
        if let text = options.publicIPv6, !text.isEmpty {
            do {
                publicIPv6 = try IPv6Address(parsing: text)
            } catch {
                throw Fatal("--public-ipv6: \(error); give an IPv6 address such as 2001:db8::5, or leave it out to use \(external.name)'s")
            }
        }

        let health = HealthServer()
        health.setNotReady("waiting for the network config")
        let metrics = self.metrics
        health.setMetrics { metrics.render() }
        let layout = EtcdKeyLayout(prefix: options.etcdPrefix)
        let registries = try EtcdRegistries(api: options.etcdAPI, configuration: EtcdClientConfiguration(
            endpoints: endpoints, caFile: options.etcdCAFile, certFile: options.etcdCertFile, keyFile: options.etcdKeyFile,
            username: options.etcdUsername, password: password), layout: layout)
        var configuration = AgentMachine.Configuration(
            etcdAPI: options.etcdAPI, layout: layout,
            host: BackendHost(publicIP: publicIP, externalName: external.name, externalAddress: external.address, externalMTU: external.mtu,
                              publicIPv6: publicIPv6, externalIPv6Address: externalIPv6),
            leaseTTL: ttl, leaseTTLText: options.subnetLeaseTTL,
            renewMargin: .seconds(options.subnetLeaseRenewMargin * 60),
            previousSubnet: SubnetFileWriter.previousSubnet(at: options.subnetFile),
            ipMasq: options.ipMasq, forwardRules: options.iptablesForwardRules, trafficResyncSeconds: options.iptablesResync,
            previousIPv6Subnet: SubnetFileWriter.previousIPv6Subnet(at: options.subnetFile))
        // Agents started together must not renew and retry together.
        configuration.spreadsTimers = true
        let machine = AgentMachine(configuration: configuration)
        let (options, environment, logger) = (self.options, self.environment, self.logger)
        let agent = AgentService(machine: machine) { sink in
            AgentRunner(options: options, environment: environment, logger: logger, metrics: metrics, health: health,
                        external: external, publicIP: publicIP, externalIPv6: externalIPv6, registries: registries, sink: sink)
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: agent, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
        ]
        if options.healthzPort != 0 {
            services.append(.init(service: HealthService(server: health, host: options.healthzIP, port: options.healthzPort, logger: logger),
                                  successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup))
        }
        var quiet = logger
        quiet.logLevel = .warning
        try await ServiceGroup(configuration: .init(services: services, logger: quiet)).run()
    }
}
