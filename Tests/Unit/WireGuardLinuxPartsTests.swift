@testable import AgentCore
@testable import Agent
import CLinuxShims
import Foundation
import Testing

/// The wireguard backend's Linux parts that run without a lab: the key file, and the kernel
/// driver's generic netlink messages laid out as `include/uapi/linux/wireguard.h` says (this
/// machine's kernel has no WireGuard to send them to).
@Suite("wireguard on Linux: the key file and the kernel's netlink messages")
struct WireGuardLinuxPartsTests {
    static let alice = WireGuardBackendTests.alicePublic
    static let bob = WireGuardBackendTests.bobPublic

    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wgkey-test-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func theKeyFileIsMadeOnceReadableByRootOnlyAndReusedAfter() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("run/flannel/wgkey").path
        let file = WireGuardKeyFile(path: path)
        let first = try file.loadOrCreate()
        #expect(first.created)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.count == 44 && !text.hasSuffix("\n"), "base64 of 32 bytes, no newline, as upstream writes it")
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let second = try file.loadOrCreate()
        #expect(!second.created && second.publicKey == first.publicKey && second.privateKey == first.privateKey)
        #expect(try file.publicKey(of: first.privateKey.key) == first.publicKey)

        // An unclamped key is clamped on load, as the kernel stores it (so the two compare equal).
        try Base64.encode([UInt8](repeating: 0xff, count: 32)).write(toFile: path, atomically: false, encoding: .utf8)
        let clamped = try file.loadOrCreate().privateKey.key.bytes
        #expect(clamped[0] == 0xf8 && clamped[31] == 0x7f && clamped[1...30].allSatisfy { $0 == 0xff })

        // A key written by hand (or by upstream, which chmods 0400) with a trailing newline is read.
        try (WireGuardBackendTests.alicePrivate.base64 + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        #expect(try file.loadOrCreate().publicKey == Self.alice)
    }

    @Test func aDamagedKeyFileIsAnErrorThatSaysWhatToDoAndIsLeftAlone() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("wgkey").path
        try "not a key".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(throws: WireGuardSetupError.self) { try WireGuardKeyFile(path: path).loadOrCreate() }
        do { _ = try WireGuardKeyFile(path: path).loadOrCreate() } catch {
            #expect("\(error)" == "the WireGuard key file \(path) does not hold base64 of 32 bytes; fix it, or delete it to make a new key (peers learn the new one from our lease)")
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "not a key")
        #expect(WireGuardKeyFile(environment: ["WIREGUARD_KEY_FILE": "/etc/flannel/wg"]).path == "/etc/flannel/wg")
        #expect(WireGuardKeyFile(environment: [:]).path == "/run/flannel/wgkey")
    }

    @Test func theNumbersAreWireGuardHs() {
        // include/uapi/linux/wireguard.h and linux/genetlink.h.
        #expect(WireGuardNetlink.Command.getDevice.rawValue == 0 && WireGuardNetlink.Command.setDevice.rawValue == 1)
        #expect(WireGuardNetlink.Device.ifindex.rawValue == 1 && WireGuardNetlink.Device.ifname.rawValue == 2)
        #expect(WireGuardNetlink.Device.privateKey.rawValue == 3 && WireGuardNetlink.Device.listenPort.rawValue == 6 && WireGuardNetlink.Device.peers.rawValue == 8)
        #expect(WireGuardNetlink.PeerAttribute.publicKey.rawValue == 1 && WireGuardNetlink.PeerAttribute.flags.rawValue == 3)
        #expect(WireGuardNetlink.PeerAttribute.endpoint.rawValue == 4 && WireGuardNetlink.PeerAttribute.persistentKeepaliveInterval.rawValue == 5)
        #expect(WireGuardNetlink.PeerAttribute.allowedIPs.rawValue == 9 && WireGuardNetlink.PeerAttribute.protocolVersion.rawValue == 10)
        #expect(WireGuardNetlink.AllowedIP.family.rawValue == 1 && WireGuardNetlink.AllowedIP.cidrMask.rawValue == 3)
        #expect(WireGuardNetlink.removeMeFlag == 1 && WireGuardNetlink.replaceAllowedIPsFlag == 2 && WireGuardNetlink.replacePeersFlag == 1)
        #expect(WireGuardNetlink.controllerID == Int(GENL_ID_CTRL) && Int(WireGuardNetlink.getFamilyCommand) == Int(CTRL_CMD_GETFAMILY))
    }

    @Test func setDeviceIsLaidOutAsTheKernelReadsIt() throws {
        let plan = WireGuardPeerPlan(removals: [Self.bob], updates: [
            WireGuardPeerConfig(publicKey: Self.alice, endpoint: "192.0.2.12:51820", allowedIPs: ["10.1.15.0/24"], persistentKeepalive: 25)])
        let bytes = WireGuardNetlink.setDevice(family: 0x1d, sequence: 7, name: "flannel-wg", privateKey: WireGuardSecret(WireGuardBackendTests.alicePrivate),
                                               listenPort: 51820, plan: plan).finished
        #expect(Array(bytes[4..<6]) == [0x1d, 0], "the message type is the family's id")
        #expect(Array(bytes[6..<8]) == [0x05, 0], "NLM_F_REQUEST | NLM_F_ACK")
        #expect(Array(bytes[16..<20]) == [1, 1, 0, 0], "genlmsghdr: WG_CMD_SET_DEVICE, version 1")
        #expect(Array(bytes[20..<24]) == [15, 0, 2, 0], "WGDEVICE_A_IFNAME, 10 characters and a NUL")
        let attributes = NetlinkAttributes(bytes[20...])
        #expect(attributes.string(2) == "flannel-wg")
        #expect(attributes[3].map(Array.init) == WireGuardBackendTests.alicePrivate.bytes)
        #expect(attributes[6].flatMap { NetlinkAttributes.u16($0, $0.startIndex) } == 51820, "listen port in host order")
        // Peers: nested with NLA_F_NESTED, the removal first.
        let peersOffset = try #require((20..<bytes.count).first { bytes[$0 + 2] == 8 && bytes[$0 + 3] == 0x80 })
        #expect(peersOffset > 20)
        let peers = NetlinkAttributes.list(try #require(attributes[8]))
        #expect(peers.count == 2)
        let removal = NetlinkAttributes(peers[0])
        #expect(removal[1].map(Array.init) == Self.bob.bytes && removal.u32(3) == 1)
        let update = NetlinkAttributes(peers[1])
        #expect(update[1].map(Array.init) == Self.alice.bytes && update.u32(3) == 2)
        #expect(update[4].map(Array.init) == [2, 0, 0xca, 0x6c, 192, 0, 2, 12, 0, 0, 0, 0, 0, 0, 0, 0], "sockaddr_in: AF_INET, port 51820 big-endian, address")
        #expect(update[5].flatMap { NetlinkAttributes.u16($0, $0.startIndex) } == 25)
        let allowed = NetlinkAttributes.list(try #require(update[9])).map(NetlinkAttributes.init)
        #expect(allowed.count == 1)
        #expect(allowed.first.flatMap { $0[1].flatMap { NetlinkAttributes.u16($0, $0.startIndex) } } == UInt16(AF_INET))
        #expect(allowed.first?.address(2, as: IPv4Address.self) == IPv4Address(10, 1, 15, 0) && allowed.first?.u8(3) == 24)
    }

    @Test func aGetDeviceAnswerParsesBackIntoTheDevicesPeers() {
        // The kernel answers with the attributes set writes (and counters): a set message's
        // payload stands in for one answer part; a second part continues the same peer.
        let first = WireGuardNetlink.setDevice(family: 0x1d, sequence: 1, name: "flannel-wg", privateKey: nil, listenPort: 51820, plan: WireGuardPeerPlan(updates: [
            WireGuardPeerConfig(publicKey: Self.alice, endpoint: "192.0.2.12:51820", allowedIPs: ["10.1.15.0/24"])])).finished
        let second = WireGuardNetlink.setDevice(family: 0x1d, sequence: 1, name: "flannel-wg", privateKey: nil, listenPort: nil, plan: WireGuardPeerPlan(updates: [
            WireGuardPeerConfig(publicKey: Self.alice, endpoint: "192.0.2.12:51820", allowedIPs: ["10.1.16.0/24"])])).finished
        let state = WireGuardNetlink.parseDevice([first[16...], second[16...]])
        #expect(state.listenPort == 51820)
        #expect(state.peers == [WireGuardDeviceState.Peer(publicKey: Self.alice, endpoint: "192.0.2.12:51820", allowedIPs: ["10.1.15.0/24", "10.1.16.0/24"])])
        let family = WireGuardNetlink.familyRequest(sequence: 3).finished
        #expect(Array(family[4..<6]) == [0x10, 0] && Array(family[16..<18]) == [3, 1])
        #expect(NetlinkAttributes(family[20...]).string(2) == "wireguard")
    }

    @Test func ipv6EndpointsAndAllowedIPsAreSockaddrIn6AndAF_INET6() {
        #expect(WireGuardNetlink.sockaddr("[2001:db8::12]:51821") == [10, 0, 0xca, 0x6d, 0, 0, 0, 0, 0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [0x12, 0, 0, 0, 0])
        #expect(WireGuardNetlink.sockaddr("2001:db8::12:51821") == nil, "an IPv6 endpoint needs its brackets")
        let plan = WireGuardPeerPlan(updates: [WireGuardPeerConfig(publicKey: Self.alice, endpoint: "[2001:db8::12]:51821", allowedIPs: ["fd00:10:1:f::/64"])])
        let bytes = WireGuardNetlink.setDevice(family: 0x1d, sequence: 1, name: "flannel-wg-v6", privateKey: nil, listenPort: 51821, plan: plan).finished
        let state = WireGuardNetlink.parseDevice([bytes[16...]])
        #expect(state.peers == [WireGuardDeviceState.Peer(publicKey: Self.alice, endpoint: "[2001:db8::12]:51821", allowedIPs: ["fd00:10:1:f::/64"])])
    }
}
