import AgentCore
@testable import Sim
import Testing

/// The simulator's WireGuard model: keys that agree only pairwise, sealed payloads that open
/// only with the right pair and never show the inner bytes, and a handshake that is a round
/// trip on the underlay before the first packet crosses.
@Suite("Simulator: the WireGuard model")
struct SimWireGuardTests {
    @Test func onlyThePairOfKeysOpensWhatOneSealedForTheOther() {
        var random = SeededGenerator(seed: 9)
        let (a, b, c) = (SimWireGuardCrypto.newPrivateKey(using: &random), SimWireGuardCrypto.newPrivateKey(using: &random),
                         SimWireGuardCrypto.newPrivateKey(using: &random))
        let (publicA, publicB) = (SimWireGuardCrypto.publicKey(of: a), SimWireGuardCrypto.publicKey(of: b))
        let secret = SimWireGuardCrypto.sharedSecret(a, publicB)
        #expect(secret == SimWireGuardCrypto.sharedSecret(b, publicA), "both ends derive one secret")
        #expect(secret != SimWireGuardCrypto.sharedSecret(c, publicB) && secret != SimWireGuardCrypto.sharedSecret(c, publicA))
        let packet = SimPacket.echo(request: true, from: IPv4Address(10, 1, 1, 2), to: IPv4Address(10, 1, 2, 2), identifier: 1, sequence: 1)
        let sealed = SimWireGuardCrypto.seal(packet, secret: secret)
        #expect(SimWireGuardCrypto.open(sealed, secret: SimWireGuardCrypto.sharedSecret(b, publicA)) == packet)
        #expect(SimWireGuardCrypto.open(sealed, secret: SimWireGuardCrypto.sharedSecret(c, publicA)) == nil, "a third key opens nothing")
        let inner = Array(packet[12..<20])  // the addresses: visible in any clear packet
        #expect(!sealed.indices.dropLast(inner.count - 1).contains { Array(sealed[$0..<$0 + inner.count]) == inner },
                "the sealed bytes do not show the inner packet's")
    }

    @Test func theFirstPacketWaitsForAHandshakeRoundTrip() {
        let (report, cluster) = SimCluster.run(.wireguardSeedPing, seed: 3)
        #expect(report.passed, "\(report)")
        let lines = cluster.world.trace.lines
        // Every underlay line is WireGuard's: initiations (148), responses (92), data.
        let underlay = lines.filter { $0.contains(" eth0 ") && $0.contains(" > ") }
        #expect(underlay.contains { $0.hasSuffix(": UDP, length 148") } && underlay.contains { $0.hasSuffix(": UDP, length 92") })
        let firstData = underlay.firstIndex { $0.hasSuffix(": UDP, length 128") }
        let firstInitiation = underlay.firstIndex { $0.hasSuffix(": UDP, length 148") }
        let firstResponse = underlay.firstIndex { $0.hasSuffix(": UDP, length 92") }
        #expect(firstInitiation != nil && firstResponse != nil && firstData != nil && firstInitiation! < firstResponse! && firstResponse! < firstData!,
                "initiation, response, then data: \(underlay.prefix(4))")
    }
}
