import FoundationEssentials
import Logging

/// wireguard on Linux: the key from its file, `flannel-wg` from the kernel or wireguard-go
/// (`WireGuardDevice`), peers kept by `WireGuardDataPath`.
struct WireGuardLinuxBackend: LinuxBackend {
    static func prepare(_ backend: WireGuardBackend, device: BackendDevice?, ipv6Device: BackendDevice?,
                        on host: LinuxBackendHost) throws -> any PreparedBackend {
        let environment = ProcessInfo.processInfo.environment
        let keyFile = WireGuardKeyFile(environment: environment)
        let (privateKey, publicKey, created) = try keyFile.loadOrCreate()
        host.logger.info(created ? "made a new WireGuard key in \(keyFile.path): public key \(publicKey)"
                                 : "WireGuard key from \(keyFile.path): public key \(publicKey)")
        let netlink = try RouteNetlink()
        let makeDriver = try chooseDriver(host.wireguardImplementation, netlink: netlink, keyFile: keyFile, environment: environment, logger: host.logger)
        // Both families' devices share the key, as upstream's do.
        func make(_ wanted: BackendDevice?) throws -> WireGuardDevice? {
            guard case let .wireguard(name, port, mtu)? = wanted else { return nil }
            let made = WireGuardDevice(name: name, mtu: mtu, listenPort: port, privateKey: privateKey, driver: try makeDriver(name),
                                       netlink: netlink, logger: host.logger)
            try made.ensure()
            return made
        }
        // A flannel-wg-v6 this configuration does not use (Mode changed, IPv6 turned off) would
        // keep its wireguard-go and its route: deleting the device ends both.
        let usesIPv6Device = host.ipv6 != nil && !backend.sharesOneDevice
        if !usesIPv6Device, let stale = try netlink.link(named: WireGuardBackend.ipv6DeviceName) {
            try netlink.deleteLink(stale.device)
            host.logger.info("deleted \(WireGuardBackend.ipv6DeviceName): this configuration carries no IPv6 on a device of its own")
        }
        if backend.sharesOneDevice, host.ipv6 != nil {
            // Mode auto, ipv4 or ipv6 with IPv6 in the network: flannel-wg carries both families.
            let shared = try make(device ?? backend.device(on: host.backendHost))
            return WireGuardPreparedBackend(backend: backend, ipv4Device: nil, ipv6Device: nil, sharedDevice: shared, publicKey: publicKey, host: host)
        }
        let ipv4 = host.ipv4 == nil ? nil : try make(device ?? backend.device(on: host.backendHost))
        let ipv6 = host.ipv6 == nil ? nil : try make(ipv6Device)
        return WireGuardPreparedBackend(backend: backend, ipv4Device: ipv4, ipv6Device: ipv6, publicKey: publicKey, host: host)
    }

    /// `auto`: the kernel's WireGuard when it has the generic netlink family, else wireguard-go.
    /// The choice is logged once; the maker gives each device its own driver.
    static func chooseDriver(_ implementation: WireGuardImplementation, netlink: RouteNetlink, keyFile: WireGuardKeyFile,
                             environment: [String: String], logger: Logger) throws -> (String) throws -> any WireGuardDriver {
        let parent = keyFile.path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let folder = keyFile.path.contains("/") ? parent : "."
        func userspace(_ why: String) throws -> (String) throws -> any WireGuardDriver {
            switch WireGuardGoDriver.findBinary(environment: environment) {
            case let .success(binary):
                logger.info("WireGuard: wireguard-go (\(binary))\(why)")
                return { name in WireGuardGoDriver(binary: binary, netlink: netlink, logPath: "\(folder)/wireguard-go.\(name).log") }
            case let .failure(error):
                throw error
            }
        }
        func kernel() -> (String) throws -> any WireGuardDriver {
            { _ in try KernelWireGuardDriver(netlink: netlink) }
        }
        switch implementation {
        case .userspace:
            return try userspace(", as --wireguard-implementation=userspace asks")
        case .kernel:
            if let missing = KernelWireGuardDriver.unavailableReason() {
                throw WireGuardSetupError("--wireguard-implementation=kernel: \(missing); load the wireguard module, or use --wireguard-implementation=userspace (wireguard-go)")
            }
            logger.info("WireGuard: the kernel's, as --wireguard-implementation=kernel asks")
            return kernel()
        case .auto:
            if let missing = KernelWireGuardDriver.unavailableReason() {
                return try userspace(": \(missing)")
            }
            logger.info("WireGuard: the kernel's")
            return kernel()
        }
    }
}
