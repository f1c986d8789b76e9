import Logging

extension RouteNetlink {
    /// Makes `subnet`'s base address (/32, IPv6 /128) the device's only address of its family,
    /// as a backend's device carries it; the kernel's IPv6 link-local fe80::/10 address is not
    /// ours to touch. Each stale address removed is logged.
    func keepOnlyBaseAddress<Address: NetlinkAddress>(of subnet: IPNetwork<Address>, on device: KernelDevice, logger: Logger) throws(NetlinkError) {
        let wanted = InterfaceAddress(address: subnet.address, prefixLength: Address.bitWidth)
        let linkLocal = IPNetwork<Address>(address: Address(bits: Address.Bits(0xfe80) << (Address.bitWidth - 16)), prefixLength: 10)
        let present = try addresses(on: device, family: Address.self).filter { Address.bitWidth == 32 || !linkLocal.contains($0.address) }
        for stale in present where stale != wanted {
            try deleteAddress(stale, on: device)
            logger.info("removed address \(stale) from \(device.name) (no longer our subnet)")
        }
        if !present.contains(wanted) {
            try replaceAddress(wanted, on: device)
        }
    }
}
