import FoundationEssentials
import Logging

/// wireguard on Linux: the key from its file, `flannel-wg` from the kernel or wireguard-go
/// (`WireGuardDevice`), peers kept by `WireGuardDataPath`.
struct WireGuardLinuxBackend: LinuxBackend {
    static func prepare(_ backend: WireGuardBackend, device: BackendDevice?, ipv6Device: BackendDevice?,
                        on host: LinuxBackendHost) throws -> any PreparedBackend {
        guard host.ipv4 != nil else {
            throw WireGuardSetupError("wireguard backend: an IPv6-only network is not implemented in this agent yet; use the vxlan backend")
        }
        let environment = ProcessInfo.processInfo.environment
        let keyFile = WireGuardKeyFile(environment: environment)
        let (privateKey, publicKey, created) = try keyFile.loadOrCreate()
        host.logger.info(created ? "made a new WireGuard key in \(keyFile.path): public key \(publicKey)"
                                 : "WireGuard key from \(keyFile.path): public key \(publicKey)")
        let mtu: Int
        if case let .wireguard(_, _, deviceMTU)? = device { mtu = deviceMTU } else { mtu = backend.mtu(on: host.backendHost) }
        let netlink = try RouteNetlink()
        let driver = try chooseDriver(host.wireguardImplementation, netlink: netlink, keyFile: keyFile, environment: environment, logger: host.logger)
        let wireguard = WireGuardDevice(name: WireGuardBackend.deviceName, mtu: mtu, listenPort: backend.listenPort,
                                        privateKey: privateKey, driver: driver, netlink: netlink, logger: host.logger)
        try wireguard.ensure()
        return WireGuardPreparedBackend(backend: backend, device: wireguard, publicKey: publicKey, host: host)
    }

    /// `auto`: the kernel's WireGuard when a `wireguard` link can be made, else wireguard-go.
    static func chooseDriver(_ implementation: WireGuardImplementation, netlink: RouteNetlink, keyFile: WireGuardKeyFile,
                             environment: [String: String], logger: Logger) throws -> any WireGuardDriver {
        let logPath = keyFile.path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            + "/wireguard-go.\(WireGuardBackend.deviceName).log"
        func userspace(_ why: String) throws -> any WireGuardDriver {
            switch WireGuardGoDriver.findBinary(environment: environment) {
            case let .success(binary):
                logger.info("WireGuard: wireguard-go (\(binary))\(why)")
                return WireGuardGoDriver(binary: binary, netlink: netlink, logPath: logPath)
            case let .failure(error):
                throw error
            }
        }
        switch implementation {
        case .userspace:
            return try userspace(", as --wireguard-implementation=userspace asks")
        case .kernel:
            let kernel = try KernelWireGuardDriver(netlink: netlink)
            if let missing = kernel.unavailableReason(logger: logger) {
                throw WireGuardSetupError("--wireguard-implementation=kernel: \(missing); load the wireguard module, or use --wireguard-implementation=userspace (wireguard-go)")
            }
            logger.info("WireGuard: the kernel's, as --wireguard-implementation=kernel asks")
            return kernel
        case .auto:
            if let kernel = try? KernelWireGuardDriver(netlink: netlink) {
                if let missing = kernel.unavailableReason(logger: logger) {
                    return try userspace(": \(missing)")
                }
                logger.info("WireGuard: the kernel's")
                return kernel
            }
            return try userspace(": no generic netlink socket for the kernel's")
        }
    }
}
