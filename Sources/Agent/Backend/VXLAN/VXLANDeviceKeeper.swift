import Logging

/// Keeps `flannel.<VNI>`: a usable one is reused with its MAC, an incompatible one is
/// replaced keeping its MAC (so peers' entries stay right), a deleted one is re-created
/// with the MAC in our lease.
struct VXLANDeviceKeeper: KernelDeviceKeeper {
    let spec: VXLANDeviceSpec

    var name: String { spec.name }

    func ensure(_ netlink: RouteNetlink, preferredMAC: MACAddress?, known: Bool, logger: Logger) throws -> KernelLink {
        var mac = preferredMAC
        if let link = try netlink.link(named: spec.name) {
            if spec.isSatisfied(by: link) {
                if let preferredMAC, link.mac != preferredMAC {
                    // Peers address our VTEP by the MAC in our lease; the device must carry it.
                    try netlink.setMAC(link.device, preferredMAC)
                    logger.warning("\(spec.name) had address \(link.mac.map { "\($0)" } ?? "none"); set it back to the VtepMAC \(preferredMAC)")
                }
                if link.mtu != spec.mtu {
                    try netlink.setMTU(link.device, spec.mtu)
                    logger.info("\(spec.name): MTU \(link.mtu) → \(spec.mtu)")
                }
                if !known { logger.info("reusing \(link)") }
                return link
            }
            logger.warning("replacing \(link): \(spec.mismatch(with: link))")
            if mac == nil, let old = link.mac, old.isLocallyAdministeredUnicast { mac = old }
            try netlink.deleteLink(link.device)
        } else if known {
            logger.warning("\(spec.name) is gone (deleted by hand?); re-creating it with VtepMAC \(mac.map { "\($0)" } ?? "new")")
        }
        let chosen = mac ?? MACAddress.locallyAdministered(from: (0..<6).map { _ in UInt8.random(in: 0...255) })
        if let localIPv6 = spec.localIPv6 {
            try netlink.createVXLAN(name: spec.name, vni: spec.vni, local: localIPv6, underlayIndex: spec.underlay.index,
                                    port: spec.port, mac: chosen, mtu: spec.mtu)
        } else if let local = spec.local {
            try netlink.createVXLAN(name: spec.name, vni: spec.vni, local: local, underlayIndex: spec.underlay.index,
                                    port: spec.port, mac: chosen, mtu: spec.mtu)
        }
        guard let created = try netlink.link(named: spec.name) else {
            throw NetlinkError(operation: "find \(spec.name) after creating it", errno: 19)
        }
        logger.info("created \(created)")
        return created
    }
}
