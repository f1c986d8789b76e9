/// A WireGuard key: 32 bytes, base64 in leases and key files, hex on the UAPI socket.
/// Its description is the base64 form: only public keys are shown that way (`WireGuardPrivateKey`
/// never prints its bytes).
public struct WireGuardKey: Hashable, Sendable, CustomStringConvertible {
    public static let length = 32

    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.length else { return nil }
        self.bytes = bytes
    }

    /// From standard base64 of exactly 32 bytes (upstream's `wgtypes.ParseKey`).
    public init?(base64 text: some StringProtocol) {
        guard let bytes = Base64.decode(text) else { return nil }
        self.init(bytes: bytes)
    }

    /// From 64 hex digits, as the UAPI socket writes keys.
    public init?(hex text: some StringProtocol) {
        let digits = Array(text.utf8)
        guard digits.count == Self.length * 2 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.bytes = bytes
    }

    public var base64: String { Base64.encode(bytes) }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes { text += [digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]] }
        return String(decoding: text, as: UTF8.self)
    }

    /// All zeros: what the UAPI reports for "no preshared key".
    public var isZero: Bool { bytes.allSatisfy { $0 == 0 } }

    public var description: String { base64 }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// A private key (or preshared key): kept out of logs, whatever prints it.
public struct WireGuardSecret: Hashable, Sendable, CustomStringConvertible {
    public let key: WireGuardKey

    public init(_ key: WireGuardKey) { self.key = key }

    public var description: String { "(secret)" }
}
