/// What a kernel backend's per-peer plan is made against: the external interface, its
/// connected network (peers inside it share our L2) and the backend's own device, if any.
public struct KernelPeerContext: Equatable, Sendable {
    public var external: KernelDevice
    public var externalNetwork: IPv4Network?
    public var device: KernelDevice?

    public init(external: KernelDevice, externalNetwork: IPv4Network?, device: KernelDevice?) {
        self.external = external
        self.externalNetwork = externalNetwork
        self.device = device
    }

    /// Whether `address` is on the external interface's own network (same L2).
    public func sharesL2(with address: IPv4Address) -> Bool {
        externalNetwork?.contains(address) ?? false
    }
}
