import Logging

/// A kernel backend made ready before the lease: its device exists and its MAC is known.
final class KernelPreparedBackend: PreparedBackend {
    let kernel: KernelBackend
    private let logger: Logger
    /// The line that says what the data path is once it runs.
    private let describe: (KernelBackend, OwnSubnets) -> String

    init(kernel: KernelBackend, logger: Logger, describe: @escaping (KernelBackend, OwnSubnets) -> String) {
        self.kernel = kernel
        self.logger = logger
        self.describe = describe
    }

    var deviceIdentity: BackendDeviceIdentity? { kernel.deviceMAC.map { .mac($0) } }
    var ipv6DeviceIdentity: BackendDeviceIdentity? { kernel.ipv6DeviceMAC.map { .mac($0) } }

    func start(_ subnets: OwnSubnets, onFailure: @escaping @Sendable (String) -> Void) throws -> any RunningDataPath {
        try kernel.activate(subnets)
        logger.info("\(describe(kernel, subnets))")
        return KernelDataPath(backend: kernel, logger: logger)
    }
}
