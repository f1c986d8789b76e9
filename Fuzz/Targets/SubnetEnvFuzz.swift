/// `subnet-env`: `SubnetFile.parse` and `SubnetFile.previousSubnet(in:)`, which read
/// `/run/flannel/subnet.env` back at start-up (a file other tools and people edit). Raw mode:
/// the text as given. Built mode: a `SubnetFile` value from the input, rendered. Checked:
/// - anything that parses renders to text that parses to the same value, and that rendering
///   is a fixed point (finding `subnet-env-host-route` for a /32 or /128 subnet, whose rendered
///   "first host" lies outside it);
/// - the rendered text of a value gives `previousSubnet` = its subnet;
/// - `previousSubnet` of any text is nil or the FLANNEL_SUBNET value's network, never a crash.
enum SubnetEnvFuzz {
    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzReader(data)
        if input.byte() & 1 == 0 {
            let text = text(input.rest())
            _ = SubnetFile.previousSubnet(in: text)
            guard let file = try? SubnetFile.parse(text) else { return }
            roundTrip(file, from: text)
        } else {
            let network = IPv4Network(address: IPv4Address(bits: input.u32()), prefixLength: input.int(in: 0...32))
            let subnet = IPv4Network(address: IPv4Address(bits: input.u32()), prefixLength: input.byte() < 200 ? input.int(in: 8...30) : input.int(in: 0...32))
            // Each family is a pair; an IPv6-only file (bit 3) has no IPv4 pair.
            let shape = input.byte()
            let hasIPv6 = shape & 1 != 0
            let ipv6Network = !hasIPv6 ? nil
                : IPv6Network(address: IPv6Address(bits: UInt128(input.u64()) << 64 | UInt128(input.u64())), prefixLength: input.int(in: 0...128))
            let ipv6Subnet = !hasIPv6 ? nil
                : IPv6Network(address: IPv6Address(bits: UInt128(input.u64()) << 64 | UInt128(input.u64())),
                              prefixLength: shape & 4 == 0 ? 64 : input.int(in: 0...128))
            let hasIPv4 = !hasIPv6 || shape & 8 == 0
            let file = SubnetFile(network: hasIPv4 ? network : nil, subnet: hasIPv4 ? subnet : nil, ipv6Network: ipv6Network, ipv6Subnet: ipv6Subnet,
                                  mtu: input.byte() < 200 ? 1472 : input.int(in: 1...Int(Int32.max)), ipMasq: input.bool())
            roundTrip(file, from: "(built)")
        }
    }

    static func roundTrip(_ file: SubnetFile, from source: String) {
        let rendered = file.rendered
        // Fixed finding subnet-env-host-route: a /32 (/128) leaves no address for the bridge, and
        // its rendering (a "first host" outside it) used to read back as another subnet.
        let hostRoute = file.subnet?.prefixLength == 32 || file.ipv6Subnet?.prefixLength == 128
        guard !hostRoute else {
            check((try? SubnetFile.parse(rendered)) == nil, "a subnet file for \(file.subnet.map { "\($0)" } ?? "-") with no room for the bridge parses: \(rendered)")
            return
        }
        guard let again = try? SubnetFile.parse(rendered) else {
            fuzzFailure("the rendering of a subnet file does not parse: \(rendered)")
        }
        check(again == file, "parse(rendered) differs: \(rendered) from \(source.prefix(200))")
        check(again.rendered == rendered, "the rendering is not a fixed point: \(rendered)")
        check(SubnetFile.previousSubnet(in: rendered) == file.subnet, "previousSubnet of \(rendered) is not \(file.subnet.map { "\($0)" } ?? "nil")")
    }
}
