/// What a kernel backend's per-peer plan of one family is made against: the external
/// interface, its connected network of that family (peers inside it share our L2) and the
/// backend's own device of that family (`flannel.1` or `flannel-v6.1`), if any.
public struct KernelPeerContext<Address: IPAddress>: Equatable, Sendable {
    public var external: KernelDevice
    public var externalNetwork: IPNetwork<Address>?
    public var device: KernelDevice?

    public init(external: KernelDevice, externalNetwork: IPNetwork<Address>?, device: KernelDevice?) {
        self.external = external
        self.externalNetwork = externalNetwork
        self.device = device
    }

    /// Whether `address` is on the external interface's own network (same L2).
    public func sharesL2(with address: Address) -> Bool {
        externalNetwork?.contains(address) ?? false
    }
}
