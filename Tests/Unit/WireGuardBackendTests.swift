@testable import AgentCore
@testable import Agent
import Foundation
import Testing

/// The wireguard backend's pure half: keys, config, lease, peers, the plan that turns a
/// device's peers into the wanted ones, and wireguard-go's UAPI text.
@Suite("wireguard: keys, config, lease, peers and the UAPI")
struct WireGuardBackendTests {
    static let me = IPv4Address(192, 0, 2, 11)
    static let host = BackendHost(publicIP: me, externalName: "eth0", externalAddress: me, externalMTU: 1500)
    // RFC 7748 §6.1: Alice's and Bob's X25519 keys.
    static let alicePrivate = WireGuardKey(hex: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")!
    static let alicePublic = WireGuardKey(hex: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")!
    static let bobPublic = WireGuardKey(hex: "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")!

    static func peer(_ subnet: String, _ publicIP: String, key: WireGuardKey? = alicePublic, type: String? = "wireguard",
                     extra: [(String, JSONValue)] = []) -> Peer {
        let data: JSONValue? = key.map { .object([("PublicKey", .string($0.base64))] + extra) }
        return Peer(key: SubnetKey(IPv4Network(subnet)!), attributes: LeaseAttributes(publicIP: IPv4Address(publicIP)!, backendType: type, backendData: data))
    }

    @Test func base64MatchesRFC4648AndRefusesWhatGoRefuses() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
        #expect(Base64.decode("Zm9vYmFy\n") == Array("foobar".utf8), "line breaks are skipped, as Go's decoder does")
        for bad in ["Zg=", "Zg=a", "Z===", "Zm9v!mFy", "Zg==Zg=="] { #expect(Base64.decode(bad) == nil, "\(bad)") }
    }

    @Test func keysReadBase64AndHexAndTheirPublicHalfIsX25519s() throws {
        #expect(Self.alicePublic.base64 == "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=")
        #expect(WireGuardKey(base64: Self.alicePublic.base64) == Self.alicePublic)
        #expect(WireGuardKey(hex: Self.alicePublic.hex) == Self.alicePublic)
        #expect(WireGuardKey(base64: "Zm9vYmFy") == nil, "not 32 bytes")
        #expect(WireGuardKey(hex: String(repeating: "g", count: 64)) == nil)
        #expect(try WireGuardKeyFile(path: "/unused").publicKey(of: Self.alicePrivate) == Self.alicePublic)
        #expect("\(WireGuardSecret(Self.alicePrivate))" == "(secret)", "a private key never prints its bytes")
        let fresh = WireGuardKeyFile.newPrivateKey()
        #expect(fresh.bytes[0] & 7 == 0 && fresh.bytes[31] & 0xc0 == 0x40, "clamped as `wg genkey` writes it")
    }

    @Test func configDefaultsAreUpstreamsAndEveryKeyIsRead() throws {
        let plain = try WireGuardBackend.decode(.object([("Type", .string("wireguard"))]))
        #expect(plain == WireGuardBackend(listenPort: 51820, listenPortV6: 51821, presharedKey: nil, persistentKeepalive: 0, mode: .separate, underlayMTU: 0))
        let config = try NetworkConfig.decode(#"{"Network":"10.1.0.0/16","Backend":{"Type":"WireGuard","listenPort":51900,"ListenPortV6":51901,"PSK":"\#(Self.bobPublic.base64)","PersistentKeepaliveInterval":25,"Mode":"auto","MTU":1400}}"#)
        #expect(config.backend == BackendConfig(WireGuardBackend(listenPort: 51900, listenPortV6: 51901, presharedKey: WireGuardSecret(Self.bobPublic),
                                                                  persistentKeepalive: 25, mode: .auto, underlayMTU: 1400)))
        #expect("\(config.backend)" == "wireguard (port 51900, PSK, keepalive 25 s, MTU 1400, mode auto)")
        #expect(!"\(config.backend)".contains(Self.bobPublic.base64), "the PSK is a secret")
    }

    @Test func badConfigValuesNameTheFieldAndTheFixAndNeverEchoThePSK() {
        func message(_ backend: String) -> String? {
            do {
                _ = try NetworkConfig.decode(#"{"Network":"10.1.0.0/16","Backend":{"Type":"wireguard",\#(backend)}}"#)
                return nil
            } catch {
                return "\(error.field): \(error.message)"
            }
        }
        #expect(message(#""ListenPort":0"#) == "Backend.ListenPort: 0 is out of range; use a UDP port from 1 to 65535 (default 51820)")
        #expect(message(#""PSK":"c2VjcmV0LXNlY3JldA==""#)
            == "Backend.PSK: is not base64 of exactly 32 bytes; generate one with `wg genpsk`, or leave PSK out")
        #expect(message(#""Mode":"Auto""#)?.hasPrefix(#"Backend.Mode: "Auto" is not a mode; use one of "separate", "auto", "ipv4", "ipv6""#) == true)
        #expect(message(#""MTU":100"#)?.hasPrefix("Backend.MTU: 100 leaves 20 after WireGuard's 80 bytes") == true)
        #expect(message(#""PSK":"""#) == nil, "an empty PSK is none, as upstream")
    }

    @Test func mtuDeviceAndLeaseAreUpstreams() {
        let backend = WireGuardBackend()
        #expect(backend.mtu(on: Self.host) == 1420)
        #expect(WireGuardBackend(underlayMTU: 1400).mtu(on: Self.host) == 1320)
        #expect(backend.device(on: Self.host) == .wireguard(name: "flannel-wg", port: 51820, mtu: 1420))
        #expect(backend.forwarding == .wireguard)
        #expect(backend.leaseAttributes(publicIP: Self.me, device: .publicKey(Self.alicePublic)).encoded
            == #"{"PublicIP":"192.0.2.11","PublicIPv6":null,"BackendType":"wireguard","BackendData":{"PublicKey":"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="}}"#)
        var small = Self.host
        small.externalMTU = 140
        #expect(backend.refusal(on: small)?.hasPrefix("wireguard backend: eth0's MTU 140 leaves 60 after 80 bytes") == true)
        #expect(backend.ipv6Refusal(on: Self.host) == nil, "IPv6 runs on flannel-wg-v6 in Mode separate")
        #expect(WireGuardBackend(mode: .auto).ipv6Refusal(on: Self.host) == nil && WireGuardBackend(mode: .auto).ipv6Device(on: Self.host) == nil,
                "Mode auto: flannel-wg carries IPv6 too")
        #expect(WireGuardBackend(underlayMTU: 1300).ipv6Refusal(on: Self.host)?.contains("below IPv6's minimum of 1280") == true)
    }

    @Test func eachPeerIsItsKeyItsPublicIPAtOurPortAndItsSubnet() {
        let backend = WireGuardBackend(presharedKey: WireGuardSecret(Self.bobPublic), persistentKeepalive: 25)
        #expect(backend.peerConfig(Self.peer("10.1.15.0/24", "192.0.2.12")) == WireGuardPeerConfig(
            publicKey: Self.alicePublic, endpoint: "192.0.2.12:51820", allowedIPs: ["10.1.15.0/24"],
            presharedKey: WireGuardSecret(Self.bobPublic), persistentKeepalive: 25))
        // Upstream v0.27 writes its port into the lease: a peer listening elsewhere is reached there.
        #expect(backend.peerConfig(Self.peer("10.1.15.0/24", "192.0.2.12", extra: [("Port", .number("51999"))]))?.endpoint == "192.0.2.12:51999")
        #expect(backend.peerConfig(Self.peer("10.1.15.0/24", "192.0.2.12", extra: [("Port", .number("0"))]))?.endpoint == "192.0.2.12:51820")
    }

    @Test func thePeerSetIgnoresOtherBackendsBadKeysAndOurselvesWithTheReason() {
        let set = WireGuardPeerSet(backend: WireGuardBackend(), network: IPv4Network("10.1.0.0/16")!, ownSubnet: IPv4Network("10.1.82.0/24")!)
        #expect(set.ignoreReason(Self.peer("10.1.15.0/24", "192.0.2.12", type: "vxlan")) == "its lease is for backend vxlan, this host runs wireguard")
        #expect(set.ignoreReason(Self.peer("10.1.15.0/24", "192.0.2.12", type: nil)) == "its lease is for backend udp, this host runs wireguard")
        #expect(set.ignoreReason(Self.peer("10.1.15.0/24", "192.0.2.12", key: nil)) == "its BackendData has no usable PublicKey (found nothing)")
        #expect(set.ignoreReason(Self.peer("10.9.15.0/24", "192.0.2.12")) == "its subnet is outside the network 10.1.0.0/16")
        let peers = [Self.peer("10.1.82.0/24", "192.0.2.11"), Self.peer("10.1.15.0/24", "192.0.2.12", key: Self.bobPublic),
                     Self.peer("10.1.9.0/24", "192.0.2.13"), Self.peer("10.1.7.0/24", "192.0.2.13"), Self.peer("10.1.8.0/24", "192.0.2.14", type: "vxlan")]
        // Our own lease is no peer; one key in two leases (a host that moved subnet) is one peer with both.
        #expect(set.wanted(peers) == [
            WireGuardPeerConfig(publicKey: Self.alicePublic, endpoint: "192.0.2.13:51820", allowedIPs: ["10.1.7.0/24", "10.1.9.0/24"]),
            WireGuardPeerConfig(publicKey: Self.bobPublic, endpoint: "192.0.2.12:51820", allowedIPs: ["10.1.15.0/24"]),
        ])
    }

    @Test func thePlanRemovesStalePeersSetsChangedOnesAndLeavesTheRest() {
        let carol = WireGuardKey(bytes: [UInt8](repeating: 7, count: 32))!
        let wanted = [WireGuardPeerConfig(publicKey: Self.alicePublic, endpoint: "192.0.2.12:51820", allowedIPs: ["10.1.15.0/24"]),
                      WireGuardPeerConfig(publicKey: Self.bobPublic, endpoint: "192.0.2.13:51820", allowedIPs: ["10.1.16.0/24"])]
        let current = [WireGuardDeviceState.Peer(publicKey: Self.alicePublic, endpoint: "192.0.2.12:51820", allowedIPs: ["10.1.15.0/24"], lastHandshake: 99, receivedBytes: 5),
                       WireGuardDeviceState.Peer(publicKey: Self.bobPublic, endpoint: "192.0.2.99:51820", allowedIPs: ["10.1.16.0/24"]),
                       WireGuardDeviceState.Peer(publicKey: carol, endpoint: "192.0.2.14:51820", allowedIPs: ["10.1.17.0/24"])]
        let plan = WireGuardPeerPlan(current: current, wanted: wanted)
        #expect(plan.removals == [carol])
        #expect(plan.updates == [wanted[1]], "alice's entry matches (counters aside) and keeps its session")
        #expect(WireGuardPeerPlan(current: Array(current[0...0]), wanted: Array(wanted[0...0])).isEmpty)
    }

    @Test func theUAPISetRequestIsWireGuardGosText() {
        let plan = WireGuardPeerPlan(removals: [Self.bobPublic], updates: [
            WireGuardPeerConfig(publicKey: Self.alicePublic, endpoint: "192.0.2.12:51820", allowedIPs: ["10.1.15.0/24"], persistentKeepalive: 25)])
        let text = WireGuardUAPI.setRequest(privateKey: WireGuardSecret(Self.alicePrivate), listenPort: 51820, plan: plan)
        #expect(text == """
            set=1
            private_key=\(Self.alicePrivate.hex)
            listen_port=51820
            public_key=\(Self.bobPublic.hex)
            remove=true
            public_key=\(Self.alicePublic.hex)
            preshared_key=\(String(repeating: "0", count: 64))
            endpoint=192.0.2.12:51820
            persistent_keepalive_interval=25
            replace_allowed_ips=true
            allowed_ip=10.1.15.0/24


            """)
    }

    @Test func aGetAnswerParsesAndAnErrorOrATruncatedAnswerIsAFailure() throws {
        let answer = """
            private_key=\(Self.alicePrivate.hex)
            listen_port=51820
            public_key=\(Self.bobPublic.hex)
            preshared_key=\(String(repeating: "0", count: 64))
            protocol_version=1
            endpoint=192.0.2.12:51820
            last_handshake_time_sec=1765130000
            last_handshake_time_nsec=5
            tx_bytes=532
            rx_bytes=476
            persistent_keepalive_interval=0
            allowed_ip=10.1.31.0/24
            errno=0


            """
        let state = try WireGuardUAPI.parseGet(answer)
        #expect(state == WireGuardDeviceState(privateKey: WireGuardSecret(Self.alicePrivate), listenPort: 51820, peers: [
            WireGuardDeviceState.Peer(publicKey: Self.bobPublic, endpoint: "192.0.2.12:51820", allowedIPs: ["10.1.31.0/24"],
                                      lastHandshake: 1_765_130_000, receivedBytes: 476, sentBytes: 532)]))
        #expect(throws: WireGuardUAPI.Failure("the device answered errno=-22")) { try WireGuardUAPI.parseGet("errno=-22\n\n") }
        #expect(throws: WireGuardUAPI.Failure("the answer ended without errno=0")) { try WireGuardUAPI.parseGet("listen_port=1\n") }
        #expect(throws: WireGuardUAPI.Failure("public_key is not 64 hex digits")) { try WireGuardUAPI.parseGet("public_key=zz\nerrno=0\n\n") }
        #expect(try WireGuardUAPI.errno(of: "errno=-98\n\n") == -98)
        #expect(WireGuardUAPISocket.isComplete(Array("errno=0\n\n".utf8)))
        #expect(!WireGuardUAPISocket.isComplete(Array("listen_port=1\n\n".utf8)))
    }

    @Test("the machine makes flannel-wg first, puts its public key in the lease and its MTU in subnet.env")
    func machineTakesTheKeyIntoTheLease() throws {
        var drive = AgentMachineTests.Drive()
        drive.send(.start)
        let prepared = drive.send(.configRead(.v3, .success(#"{"Network":"10.1.0.0/16","Backend":{"Type":"wireguard"}}"#)))
        let plan = try #require(drive.machine.plan)
        #expect(prepared.last == .prepareBackend(BackendConfig(WireGuardBackend()), device: .wireguard(name: "flannel-wg", port: 51820, mtu: 1420), plan: plan))
        drive.send(.backendPrepared(device: .publicKey(Self.alicePublic)))
        drive.send(.leasesListed(LeaseListing(records: [], revision: 3)))
        let created = drive.actions.compactMap { action -> LeaseAttributes? in
            if case let .lease(.create(_, attributes, _)) = action { attributes } else { nil }
        }
        #expect(created.map { $0.backendData?.member("PublicKey")?.stringValue } == [Self.alicePublic.base64])
        drive.send(.leaseCreated(modRevision: 4))
        drive.send(.dataPathStarted)
        let files = drive.actions.compactMap { action -> SubnetFile? in
            if case let .writeSubnetFile(file) = action { file } else { nil }
        }
        #expect(files.map(\.mtu) == [1420])
    }

    @Test func theIPv6HalfIsFlannelWGV6WithTheSameKey() {
        let backend = WireGuardBackend(persistentKeepalive: 5)
        #expect(backend.ipv6Device(on: Self.host) == .wireguard(name: "flannel-wg-v6", port: 51821, mtu: 1420))
        #expect(backend.ipv6LeaseData(device: .publicKey(Self.alicePublic))?.encoded == #"{"PublicKey":"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="}"#)
        let data: JSONValue = .object([("PublicKey", .string(Self.bobPublic.base64))])
        let peer = Peer(key: SubnetKey(IPv4Network("10.1.15.0/24")!, ipv6: IPv6Network("fd00:10:1:f::/64")!),
                        attributes: LeaseAttributes(publicIP: IPv4Address(192, 0, 2, 12), publicIPv6: IPv6Address("2001:db8::12")!,
                                                    backendType: "wireguard", backendData: data, backendV6Data: data))
        #expect(backend.ipv6PeerConfig(peer) == WireGuardPeerConfig(publicKey: Self.bobPublic, endpoint: "[2001:db8::12]:51821",
                                                                    allowedIPs: ["fd00:10:1:f::/64"], persistentKeepalive: 5))
        let set = WireGuardPeerSet(backend: backend, network: IPv6Network("fd00:10:1::/48")!, ownSubnet: IPv6Network("fd00:10:1:1::/64")!)
        #expect(set.wanted([peer]).map(\.endpoint) == ["[2001:db8::12]:51821"])
        var noV6 = peer
        noV6.attributes.backendV6Data = nil
        #expect(set.ignoreReason(noV6) == "its BackendV6Data has no usable PublicKey (found nothing)")
        #expect(WireGuardPeerSet(backend: backend, network: IPv6Network("fd00:99::/48")!, ownSubnet: nil).ignoreReason(peer)
            == "its IPv6 subnet is outside the network fd00:99::/48")
    }

    @Test(arguments: [
        // (mode, peer PublicIP, peer PublicIPv6, we have a public IPv6, endpoint)
        (WireGuardMode.auto, "192.0.2.12", "2001:db8::12", true, "192.0.2.12:51820"),
        (.auto, "10.0.0.12", "2001:db8::12", true, "[2001:db8::12]:51820"),
        (.auto, "10.0.0.12", "2001:db8::12", false, "10.0.0.12:51820"),
        (.auto, "10.0.0.12", "fd00::12", true, "10.0.0.12:51820"),
        (.auto, "0.0.0.0", "2001:db8::12", false, "[2001:db8::12]:51820"),
        (.ipv4, "10.0.0.12", "2001:db8::12", true, "10.0.0.12:51820"),
        (.ipv6, "192.0.2.12", "2001:db8::12", false, "[2001:db8::12]:51820"),
    ])
    func oneDeviceForBothFamiliesChoosesTheEndpointAsUpstream(mode: WireGuardMode, publicIP: String, publicIPv6: String, localPublicIPv6: Bool, endpoint: String) {
        let backend = WireGuardBackend(mode: mode)
        let peers = WireGuardSharedDevicePeers(backend: backend, ipv4Network: IPv4Network("10.1.0.0/16")!, ipv6Network: IPv6Network("fd00:10:1::/48")!,
                                               ownKey: nil, localIPv4: true, localPublicIPv6: localPublicIPv6)
        let v4: JSONValue = .object([("PublicKey", .string(Self.alicePublic.base64))])
        let v6: JSONValue = .object([("PublicKey", .string(Self.bobPublic.base64))])
        let peer = Peer(key: SubnetKey(IPv4Network("10.1.15.0/24")!, ipv6: IPv6Network("fd00:10:1:f::/64")!),
                        attributes: LeaseAttributes(publicIP: IPv4Address(publicIP)!, publicIPv6: IPv6Address(publicIPv6)!,
                                                    backendType: "wireguard", backendData: v4, backendV6Data: v6))
        // The key of the IPv6 half, both subnets, one endpoint.
        #expect(peers.wanted([peer]) == [WireGuardPeerConfig(publicKey: Self.bobPublic, endpoint: endpoint, allowedIPs: ["10.1.15.0/24", "fd00:10:1:f::/64"])])
    }

    @Test func oneDeviceForBothFamiliesSkipsOurselvesAndSaysWhyAPeerIsIgnored() {
        let own = SubnetKey(IPv4Network("10.1.1.0/24")!, ipv6: IPv6Network("fd00:10:1:1::/64")!)
        let peers = WireGuardSharedDevicePeers(backend: WireGuardBackend(mode: .ipv6), ipv4Network: IPv4Network("10.1.0.0/16")!,
                                               ipv6Network: IPv6Network("fd00:10:1::/48")!, ownKey: own, localIPv4: true, localPublicIPv6: true)
        let data: JSONValue = .object([("PublicKey", .string(Self.bobPublic.base64))])
        let ourselves = Peer(key: own, attributes: LeaseAttributes(publicIP: Self.me, publicIPv6: IPv6Address("2001:db8::11")!,
                                                                   backendType: "wireguard", backendData: data, backendV6Data: data))
        let ipv4Only = Peer(key: SubnetKey(IPv4Network("10.1.2.0/24")!), attributes: LeaseAttributes(publicIP: IPv4Address(192, 0, 2, 12), backendType: "wireguard", backendData: data))
        #expect(peers.wanted([ourselves, ipv4Only]).isEmpty)
        #expect(peers.ignoreReason(ipv4Only) == "its lease has no PublicIPv6 for Mode ipv6")
        var keyless = ourselves
        keyless.attributes.backendV6Data = nil
        #expect(peers.ignoreReason(keyless) == "its BackendV6Data has no usable PublicKey (found nothing)")
    }

    @Test func aPeerThatRoamedKeepsItsEndpointWhileItsLeaseSaysTheSame() {
        let wanted = [WireGuardPeerConfig(publicKey: Self.alicePublic, endpoint: "192.0.2.12:51820", allowedIPs: ["10.1.15.0/24"])]
        // WireGuard moved the endpoint to where the peer's packets came from (a NAT, another address).
        let roamed = [WireGuardDeviceState.Peer(publicKey: Self.alicePublic, endpoint: "198.51.100.7:40001", allowedIPs: ["10.1.15.0/24"])]
        #expect(WireGuardPeerPlan(current: roamed, wanted: wanted, setEndpoints: [Self.alicePublic: "192.0.2.12:51820"]).isEmpty)
        #expect(WireGuardPeerPlan(current: roamed, wanted: wanted).updates == wanted, "not set by us yet (a restart): set once")
        var moved = wanted
        moved[0].endpoint = "192.0.2.99:51820"
        #expect(WireGuardPeerPlan(current: roamed, wanted: moved, setEndpoints: [Self.alicePublic: "192.0.2.12:51820"]).updates == moved,
                "a lease naming a new address is set")
    }

    @Test func aLargePlanIsCutIntoPiecesRemovalsFirst() {
        let keys = (0..<250).map { WireGuardKey(bytes: [UInt8(truncatingIfNeeded: $0), UInt8($0 >> 8)] + [UInt8](repeating: 1, count: 30))! }
        let plan = WireGuardPeerPlan(removals: Array(keys[0..<50]), updates: keys[50...].map {
            WireGuardPeerConfig(publicKey: $0, endpoint: "192.0.2.12:51820", allowedIPs: ["10.1.15.0/24", "fd00:10:1:f::/64"])
        })
        let pieces = plan.chunks(of: 100)
        #expect(pieces.map { $0.removals.count + $0.updates.count } == [100, 100, 50])
        #expect(pieces[0].removals == Array(keys[0..<50]) && pieces.flatMap(\.updates) == plan.updates)
        #expect(plan.chunks(of: 1000) == [plan])
    }

    @Test func ourOwnKeyIsNeverAPeer() {
        let set = WireGuardPeerSet(backend: WireGuardBackend(), network: IPv4Network("10.1.0.0/16")!, ownSubnet: IPv4Network("10.1.82.0/24")!,
                                   ownPublicKey: Self.alicePublic)
        let oldLease = Self.peer("10.1.9.0/24", "192.0.2.11")
        #expect(set.ignoreReason(oldLease) == "its PublicKey is this host's own (an old lease of ours, or a key file copied from this host)")
        #expect(set.wanted([oldLease]).isEmpty)
    }

    @Test func twoDevicesOnOnePortAreRefused() {
        #expect(WireGuardBackend(listenPort: 51900, listenPortV6: 51900).ipv6Refusal(on: Self.host)?.hasPrefix("wireguard backend: ListenPort and ListenPortV6 are both 51900") == true)
        #expect(WireGuardBackend(listenPort: 51900, listenPortV6: 51900, mode: .auto).ipv6Refusal(on: Self.host) == nil, "one device, one port")
    }
}
