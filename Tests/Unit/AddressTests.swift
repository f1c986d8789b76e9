import Agent
import Testing

@Suite("IPv4 and IPv6 addresses and networks")
struct AddressTests {
    @Test func parsesAndPrintsIPv4() throws {
        let address = try IPv4Address(parsing: "10.12.10.193")
        #expect(address.description == "10.12.10.193")
        #expect(address == IPv4Address(10, 12, 10, 193))
        #expect(IPv4Address("0.0.0.0") == .any)
        #expect(IPv4Address("255.255.255.255")?.bits == .max)
    }

    @Test(arguments: [
        ("10.1.2", "four dot-separated numbers"),
        ("10.1.2.3.4", "four dot-separated numbers"),
        ("10.1.2.256", "\"256\" is not a number from 0 to 255"),
        ("10.01.2.3", "leading zero"),
        ("10.1..3", "\"\" is not a number"),
        ("10.1.2.x", "\"x\" is not a number"),
        ("", "four dot-separated numbers"),
        (" 10.1.2.3", "is not a number"),
    ])
    func rejectsBadIPv4(text: String, reason: String) {
        #expect {
            try IPv4Address(parsing: text)
        } throws: { error in
            "\(error)".contains(reason) && "\(error)".contains("\"\(text)\"")
        }
    }

    @Test(arguments: [
        ("fd00:12:13::", "fd00:12:13::"),
        ("FD00:0012:0013:0000:0000:0000:0000:0000", "fd00:12:13::"),
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"), // first of two equal runs
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"), // a single zero group is not shortened
        ("::ffff:192.0.2.1", "::ffff:c000:201"),
        ("2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"),
    ])
    func printsIPv6InRFC5952Form(text: String, canonical: String) throws {
        #expect(try IPv6Address(parsing: text).description == canonical)
    }

    @Test(arguments: ["+f::1", "1::-2", "1::2::3", "12345::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "g::", ":1:2:3:4:5:6:7", ""])
    func rejectsBadIPv6(text: String) {
        #expect(throws: AddressParseError.self) { try IPv6Address(parsing: text) }
    }

    @Test func networkMasksHostBitsAndDoesTheMath() throws {
        let network = try IPv4Network(parsing: "10.1.82.7/16")
        #expect(network.description == "10.1.0.0/16")
        #expect(network.contains(IPv4Address(10, 1, 255, 255)))
        #expect(!network.contains(IPv4Address(10, 2, 0, 0)))
        #expect(network.lastAddress == IPv4Address(10, 1, 255, 255))
        #expect(network.size == 65536)

        let subnet = try IPv4Network(parsing: "10.1.82.0/24")
        #expect(network.contains(subnet))
        #expect(!subnet.contains(network))
        #expect(subnet.next() == IPv4Network("10.1.83.0/24"))
        #expect(subnet.firstHost == IPv4Address(10, 1, 82, 1))
        #expect(IPv4Network("255.255.255.0/24")!.next() == nil)
        #expect(IPv4Network.isAligned(IPv4Address(10, 1, 82, 0), to: 24))
        #expect(!IPv4Network.isAligned(IPv4Address(10, 1, 82, 128), to: 24))
        #expect(subnet.overlaps(IPv4Network("10.1.82.128/25")!))
        #expect(!subnet.overlaps(IPv4Network("10.1.83.0/24")!))
    }

    @Test func strictNetworkParsingRejectsHostBits() {
        #expect { try IPv4Network(parsing: "10.1.82.1/24", strict: true) } throws: { error in
            "\(error)".contains("host bits are set; the network is 10.1.82.0/24")
        }
        #expect(throws: AddressParseError.self) { try IPv4Network(parsing: "10.1.0.0/33") }
        #expect(throws: AddressParseError.self) { try IPv4Network(parsing: "10.1.0.0") }
        #expect(throws: AddressParseError.self) { try IPv4Network(parsing: "10.1.0.0/+8") }
    }

    @Test func ipv6NetworkMath() throws {
        let network = try IPv6Network(parsing: "fd00:12::/48")
        let subnet = try IPv6Network(parsing: "fd00:12:0:5::/64")
        #expect(network.contains(subnet))
        #expect(subnet.next()?.description == "fd00:12:0:6::/64")
        #expect(subnet.firstHost.description == "fd00:12:0:5::1")
    }
}
