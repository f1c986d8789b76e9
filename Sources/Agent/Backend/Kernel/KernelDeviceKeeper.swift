import Logging

/// Keeps a kernel backend's own device (vxlan's `flannel.<VNI>`) as its pure half asked for it.
protocol KernelDeviceKeeper {
    var name: String { get }
    /// Finds a usable device or makes one, carrying `preferredMAC` when given (peers address
    /// us by the MAC in our lease). `known`: the agent had the device already (a resync).
    func ensure(_ netlink: RouteNetlink, preferredMAC: MACAddress?, known: Bool, logger: Logger) throws -> KernelLink
}
