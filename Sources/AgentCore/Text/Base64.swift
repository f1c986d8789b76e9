/// Standard base64 (RFC 4648 §4, with padding): how WireGuard keys appear in leases and key
/// files. The core links no Foundation, so it carries its own.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (index, symbol) in alphabet.enumerated() { table[Int(symbol)] = UInt8(index) }
        return table
    }()

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index < input.count {
            let chunk = input[index..<min(index + 3, input.count)]
            let a = chunk[chunk.startIndex], b = chunk.dropFirst().first ?? 0, c = chunk.dropFirst(2).first ?? 0
            output.append(alphabet[Int(a >> 2)])
            output.append(alphabet[Int((a & 0x03) << 4 | b >> 4)])
            output.append(chunk.count > 1 ? alphabet[Int((b & 0x0f) << 2 | c >> 6)] : UInt8(ascii: "="))
            output.append(chunk.count > 2 ? alphabet[Int(c & 0x3f)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The bytes of `text`, or nil unless it is padded standard base64. Line breaks are
    /// skipped, as Go's decoder does.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let symbols = text.utf8.filter { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }
        guard symbols.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(symbols.count / 4 * 3)
        var index = 0
        while index < symbols.count {
            let quad = symbols[index..<index + 4]
            let padding = quad.reversed().prefix { $0 == UInt8(ascii: "=") }.count
            // Padding only at the very end, at most two.
            guard padding <= 2, padding == 0 || index + 4 == symbols.count else { return nil }
            var sextets: [UInt8] = []
            for symbol in quad.prefix(4 - padding) {
                let value = values[Int(symbol)]
                guard value != 0xff else { return nil }
                sextets.append(value)
            }
            while sextets.count < 4 { sextets.append(0) }
            output.append(sextets[0] << 2 | sextets[1] >> 4)
            if padding < 2 { output.append(sextets[1] << 4 | sextets[2] >> 2) }
            if padding < 1 { output.append(sextets[2] << 6 | sextets[3]) }
            index += 4
        }
        return output
    }
}
