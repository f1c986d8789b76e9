import AgentCore

/// The simulator's stand-in for WireGuard's cryptography: not secure, only faithful in what
/// the world can observe. A key pair is a toy Diffie-Hellman pair over the prime 2^61 − 1
/// (private x, public g^x), so two hosts derive one shared secret from their own private key
/// and the other's public key, and nobody else does; a sealed payload is the packet XORed
/// with a keystream of that secret behind a tag, so it opens only with the same pair of keys
/// and never shows the inner bytes on the underlay.
enum SimWireGuardCrypto {
    static let prime: UInt64 = (1 << 61) - 1
    static let generator: UInt64 = 5

    /// A private key drawn from `random`; its first 8 bytes are the exponent.
    static func newPrivateKey(using random: inout SeededGenerator) -> WireGuardKey {
        let exponent = UInt64.random(in: 2..<(prime - 1), using: &random)
        return key(exponent, filler: random.next())
    }

    static func publicKey(of privateKey: WireGuardKey) -> WireGuardKey {
        let value = power(generator, number(privateKey))
        return key(value, filler: value)
    }

    /// The secret both ends derive: their public key to our private exponent.
    static func sharedSecret(_ privateKey: WireGuardKey, _ peerPublicKey: WireGuardKey) -> UInt64 {
        power(number(peerPublicKey), number(privateKey))
    }

    /// An 8-byte tag, then the packet XORed with the secret's keystream.
    static func seal(_ packet: [UInt8], secret: UInt64) -> [UInt8] {
        var stream = KeyStream(secret: secret)
        let tag = checksum(packet) ^ secret
        return withUnsafeBytes(of: tag.littleEndian, Array.init) + packet.map { $0 ^ stream.nextByte() }
    }

    /// The packet, or nil when `secret` is not the one it was sealed with.
    static func open(_ sealed: [UInt8], secret: UInt64) -> [UInt8]? {
        guard sealed.count >= 8 else { return nil }
        var stream = KeyStream(secret: secret)
        let packet = sealed.dropFirst(8).map { $0 ^ stream.nextByte() }
        let tag = sealed.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        return tag == checksum(packet) ^ secret ? packet : nil
    }

    private static func number(_ key: WireGuardKey) -> UInt64 {
        key.bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) } % prime
    }

    private static func key(_ value: UInt64, filler: UInt64) -> WireGuardKey {
        let head = withUnsafeBytes(of: value.littleEndian, Array.init)
        var tail: [UInt8] = []
        var state = filler
        for _ in 0..<24 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            tail.append(UInt8(truncatingIfNeeded: state >> 56))
        }
        return WireGuardKey(bytes: head + tail)!
    }

    private static func multiply(_ a: UInt64, _ b: UInt64) -> UInt64 {
        UInt64((UInt128(a) * UInt128(b)) % UInt128(prime))
    }

    private static func power(_ base: UInt64, _ exponent: UInt64) -> UInt64 {
        var result: UInt64 = 1, base = base % prime, exponent = exponent
        while exponent > 0 {
            if exponent & 1 == 1 { result = multiply(result, base) }
            base = multiply(base, base)
            exponent >>= 1
        }
        return result
    }

    /// FNV-1a over the bytes.
    private static func checksum(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    private struct KeyStream {
        var state: UInt64
        var buffer: UInt64 = 0
        var left = 0

        init(secret: UInt64) { state = secret }

        mutating func nextByte() -> UInt8 {
            if left == 0 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                buffer = z ^ (z >> 31)
                left = 8
            }
            defer { buffer >>= 8; left -= 1 }
            return UInt8(truncatingIfNeeded: buffer)
        }
    }
}
