/// `network-config`: `NetworkConfig.decode`, the document an operator (or anyone with write
/// access to `<prefix>/config`) puts in etcd. Raw mode: the text as given. Built mode: a JSON
/// object whose fields (Network, SubnetLen, SubnetMin/Max, the IPv6 ones, Backend with its
/// type and fields) the input fills, mostly plausibly, so the rules past the parser are reached.
/// Checked for every config that decodes, per family plan:
/// - the network has a prefix of 1 or more and no host bits; SubnetLen is within
///   network+2...family maximum (30, 126);
/// - SubnetMin ≤ SubnetMax, both inside the network and on a SubnetLen boundary; the default
///   range skips the first subnet when SubnetMin is absent;
/// - capacity ≥ 1 and equals (max − min) / size + 1; the subnets at SubnetMin and SubnetMax fit;
///   `freeSubnets` with nothing taken starts at SubnetMin and every one it gives fits;
/// - the backend is a catalogued type, and its lease attributes round-trip through the value
///   encoding with that BackendType; vxlan's MAC and wireguard's key read back.
enum NetworkConfigFuzz {
    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzReader(data)
        let document = input.byte() & 1 == 0 ? text(input.rest()) : built(&input)
        guard let config = try? NetworkConfig.decode(document) else { return }
        check(config.enableIPv4 || config.enableIPv6, "a config with neither family decoded")
        if let plan = config.ipv4 { checkPlan(plan, maximum: 30, document: document, minField: "SubnetMin") }
        if let plan = config.ipv6 { checkPlan(plan, maximum: 126, document: document, minField: "IPv6SubnetMin") }
        let backend = config.backend.backend
        let typeName = config.backend.typeName
        check(BackendCatalogue.typeNames.contains(typeName), "backend type \(typeName) is not catalogued")
        _ = config.backend.description
        let mac = MACAddress.locallyAdministered(from: [1, 2, 3, 4, 5, 6])
        let key = WireGuardKey(bytes: [UInt8](repeating: 7, count: 32))!
        let device: BackendDeviceIdentity = typeName == WireGuardBackend.typeName ? .publicKey(key) : .mac(mac)
        let attributes = backend.leaseAttributes(publicIP: IPv4Address(192, 0, 2, 11), device: device)
        check(attributes.effectiveBackendType == typeName, "the lease says \(attributes.effectiveBackendType), the config \(typeName)")
        check((try? LeaseAttributes.decode(attributes.encoded)) == attributes, "our own lease value does not round-trip: \(attributes.encoded)")
        if typeName == VXLANBackend.typeName {
            let peer = Peer(key: SubnetKey(IPv4Network("10.1.15.0/24")!), attributes: attributes)
            check(VXLANBackend.vtepMAC(of: peer) == mac, "our own VtepMAC does not read back")
        }
        if typeName == WireGuardBackend.typeName {
            let peer = Peer(key: SubnetKey(IPv4Network("10.1.15.0/24")!), attributes: attributes)
            check(WireGuardBackend.publicKey(of: peer) == key, "our own PublicKey does not read back")
        }
    }

    static func checkPlan<Address: IPAddress>(_ plan: SubnetPlan<Address>, maximum: Int, document: String, minField: String) {
        let network = plan.network
        let where_ = "plan \(network) /\(plan.subnetLength) \(plan.subnetMin)...\(plan.subnetMax) from \(document.prefix(300))"
        check(network.prefixLength >= 1 && IPNetwork(address: network.address, prefixLength: network.prefixLength) == network, where_)
        check(plan.subnetLength >= network.prefixLength + 2 && plan.subnetLength <= maximum, "SubnetLen: " + where_)
        check(plan.subnetMin <= plan.subnetMax, "min > max: " + where_)
        for bound in [plan.subnetMin, plan.subnetMax] {
            check(network.contains(bound) && IPNetwork<Address>.isAligned(bound, to: plan.subnetLength), "bound \(bound): " + where_)
            check(plan.fits(IPNetwork(address: bound, prefixLength: plan.subnetLength)), "the subnet at \(bound) does not fit: " + where_)
        }
        let size = Address.Bits(1) << (Address.bitWidth - plan.subnetLength)
        check(plan.capacity >= 1 && plan.capacity == (plan.subnetMax.bits - plan.subnetMin.bits) / size + 1, "capacity: " + where_)
        let free = plan.freeSubnets(excluding: [], limit: 4)
        check(free.first?.address == plan.subnetMin, "the first free subnet is not SubnetMin: " + where_)
        check(free.count == min(4, Int(clamping: plan.capacity)), "\(free.count) free subnets, capacity \(plan.capacity): " + where_)
        for subnet in free { check(plan.fits(subnet), "free subnet \(subnet) does not fit: " + where_) }
        let taken = Array(free.prefix(2))
        let after = plan.freeSubnets(excluding: taken, limit: 2)
        for subnet in after { check(!taken.contains(subnet) && plan.fits(subnet), "a taken subnet was offered: " + where_) }
        if ((try? JSONParser.parse(document))?.member(minField) ?? .null) == .null {
            check(plan.subnetMin.bits == network.address.bits + size, "the default SubnetMin is not the second subnet: " + where_)
        }
    }

    static func ipv4Text(_ input: inout FuzzReader) -> String {
        let choice = input.byte()
        let bits = input.u32()
        switch choice % 8 {
        case 0: return "\(bits >> 24).\(bits >> 16 & 255).\(bits >> 8 & 255).\(bits & 255)"
        case 1: return text(input.take(Int(choice >> 4)))
        default: return "10.\(bits >> 24 & 15).\(bits >> 16 & 255 & (choice & 8 == 0 ? 0 : 255)).0"
        }
    }

    static func ipv6Text(_ input: inout FuzzReader) -> String {
        let choice = input.byte()
        switch choice % 6 {
        case 0: return text(input.take(Int(choice >> 4) * 3))
        case 1: return (0..<8).map { _ in String(input.u16(), radix: 16) }.joined(separator: ":")
        default: return "fd00:\(String(input.u16(), radix: 16))::\(choice & 8 == 0 ? "" : String(input.u16(), radix: 16))"
        }
    }

    static func number(_ input: inout FuzzReader, _ plausible: ClosedRange<Int>) -> String {
        let choice = input.byte()
        switch choice % 10 {
        case 0: return "\(Int64(bitPattern: input.u64()))"
        case 1: return ["1.5", "24.0", "1e2", "-0", "\"24\"", "null", "true", "99999999999999999999999"][Int(choice >> 4) % 8]
        default: return "\(input.int(in: plausible))"
        }
    }

    static func built(_ input: inout FuzzReader) -> String {
        var members: [String] = []
        let fields = input.u16()
        func add(_ name: String, _ value: String) { members.append("\"\(name)\":\(value)") }
        if fields & 1 != 0 { add("Network", JSONValue.string("\(ipv4Text(&input))/\(number(&input, 0...32))").encoded) }
        if fields & 2 != 0 { add("SubnetLen", number(&input, 0...32)) }
        if fields & 4 != 0 { add("SubnetMin", JSONValue.string(ipv4Text(&input)).encoded) }
        if fields & 8 != 0 { add("SubnetMax", JSONValue.string(ipv4Text(&input)).encoded) }
        if fields & 16 != 0 { add("EnableIPv6", input.bool() ? "true" : "false") }
        if fields & 32 != 0 { add("EnableIPv4", input.byte() < 40 ? "false" : "true") }
        if fields & 64 != 0 { add("IPv6Network", JSONValue.string("\(ipv6Text(&input))/\(number(&input, 0...128))").encoded) }
        if fields & 128 != 0 { add("IPv6SubnetLen", number(&input, 0...128)) }
        if fields & 256 != 0 { add("IPv6SubnetMin", JSONValue.string(ipv6Text(&input)).encoded) }
        if fields & 512 != 0 { add("IPv6SubnetMax", JSONValue.string(ipv6Text(&input)).encoded) }
        if fields & 1024 != 0 { add("EnableNFTables", input.bool() ? "true" : "null") }
        if fields & 2048 != 0 {
            let type = ["udp", "vxlan", "host-gw", "VXLAN", "ipip", "", "nope", "wireguard"][Int(input.byte()) % 8]
            var backend = ["\"Type\":\"\(type)\""]
            let extra = input.byte()
            if extra & 1 != 0 { backend.append("\"Port\":\(number(&input, 0...70_000))") }
            if extra & 2 != 0 { backend.append("\"VNI\":\(number(&input, 0...16_777_216))") }
            if extra & 4 != 0 { backend.append("\"MTU\":\(number(&input, 0...70_000))") }
            if extra & 8 != 0 { backend.append("\"DirectRouting\":\(input.bool() ? "true" : "1")") }
            if extra & 16 != 0 { backend.append("\"ListenPort\":\(number(&input, 0...70_000))") }
            if extra & 32 != 0 { backend.append("\"Mode\":\"\(["separate", "auto", "ipv4", "ipv6", "Auto", ""][Int(input.byte()) % 6])\"") }
            if extra & 64 != 0 { backend.append("\"PSK\":\(JSONValue.string(input.bool() ? String(repeating: "A", count: 43) + "=" : "not base64").encoded)") }
            add("Backend", "{" + backend.joined(separator: ",") + "}")
        }
        return "{" + members.joined(separator: ",") + "}"
    }
}
