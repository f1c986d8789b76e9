import Logging

/// `flannel-wg` kept as the backend wants it, whichever driver runs it: the device present
/// (re-made with the same key when deleted or when wireguard-go dies), our private key and
/// listen port set, the subnet's base address on it, the whole network routed through it.
final class WireGuardDevice {
    let name: String
    let mtu: Int
    let listenPort: Int
    private let privateKey: WireGuardSecret
    let driver: any WireGuardDriver
    let netlink: RouteNetlink
    private let logger: Logger
    private var known = false

    init(name: String, mtu: Int, listenPort: Int, privateKey: WireGuardSecret, driver: any WireGuardDriver, netlink: RouteNetlink, logger: Logger) {
        self.name = name
        self.mtu = mtu
        self.listenPort = listenPort
        self.privateKey = privateKey
        self.driver = driver
        self.netlink = netlink
        self.logger = logger
    }

    /// Makes sure the device runs with our key and port; true when it was (re)made, so its
    /// peers must all be set again.
    @discardableResult
    func ensure() throws -> Bool {
        let made = try driver.ensureDevice(name: name, mtu: mtu, logger: logger)
        if made && known { logger.warning("\(name) was gone (deleted by hand, or wireguard-go died); made it again with the same key") }
        let state = try driver.read()
        // The listen port only when it differs: setting it rebinds the socket.
        let port = state.listenPort == listenPort ? nil : listenPort
        if state.privateKey != privateKey || port != nil {
            try driver.configure(privateKey: privateKey, listenPort: port, plan: WireGuardPeerPlan())
            if !made, known { logger.warning("\(name): private key or listen port had changed; set them back") }
        }
        if !made && !known { logger.info("reusing \(name) (\(driver.kind)) with its \(state.peers.count) peer(s)") }
        known = true
        return made
    }

    /// The device's link, which must exist (after `ensure`).
    func link() throws -> KernelLink {
        guard let link = try netlink.link(named: name) else { throw NetlinkError(operation: "find \(name)", errno: 19 /* ENODEV */) }
        return link
    }

    /// `<subnet base>/32` (IPv6: `/128`) on the device, other addresses removed (an IPv6
    /// link-local one aside), and `<network> dev flannel-wg` (or `flannel-wg-v6`), as upstream
    /// sets them. Per-peer routes into the network that another backend left (vxlan's via
    /// `flannel.<VNI>` or `flannel-v6.<VNI>`, host-gw's via a gateway on `external`: ours by
    /// mark, or lease-sized as upstream's are) would take the traffic past the tunnel: they go.
    func address<Address: NetlinkAddress>(subnet: IPNetwork<Address>, network: IPNetwork<Address>, subnetLength: Int, external: String) throws {
        let device = try link().device
        try netlink.keepOnlyBaseAddress(of: subnet, on: device, logger: logger)
        let links = try netlink.links()
        let routes = try netlink.routes(devices: links.map(\.device), family: Address.self)
        if !routes.contains(where: { $0.destination == network && $0.device.index == device.index }) {
            try netlink.replaceRoute(KernelRoute(destination: network, gateway: nil, device: device, onlink: false))
            logger.info("route \(network) dev \(name)")
        }
        for route in routes where network.contains(route.destination) && route.destination.prefixLength > network.prefixLength
            && (route.isOurs || route.destination.prefixLength == subnetLength)
            && (route.device.name.hasPrefix("flannel.") || route.device.name.hasPrefix("flannel-v6.") || (route.device.name == external && route.gateway != nil)) {
            try netlink.deleteRoute(route)
            logger.info("removed \(route): another backend's, it would bypass \(name)")
        }
    }
}
