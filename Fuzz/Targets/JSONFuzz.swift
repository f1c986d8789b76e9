/// `json`: `JSONParser.parse` and `JSONValue.encoded`, which every config, lease value and
/// etcd v2 answer goes through. Checked: no crash on any text; a document that parses encodes
/// to text that parses to an equal value, and that text is a fixed point (encoding it again
/// gives the same text); the encoding is ASCII-safe where Go escapes (`<`, `>`, `&`, U+2028,
/// U+2029, control characters); member lookup finds the last of equal names. Once per process:
/// depth bombs (100,000 `[`, `{"a":` and mixed) are refused without exhausting the stack.
enum JSONFuzz {
    static func run(_ data: UnsafeRawBufferPointer) {
        _ = depthBombsOnce
        let text = text(data)
        guard let value = try? JSONParser.parse(text) else { return }
        checkRoundTrip(value, from: text)
    }

    static func checkRoundTrip(_ value: JSONValue, from source: String) {
        let encoded = value.encoded
        let again: JSONValue
        do {
            again = try JSONParser.parse(encoded)
        } catch {
            fuzzFailure("the encoding of a parsed document does not parse (\(error)): \(encoded.prefix(200))")
        }
        check(again == value, "parse(encoded) differs from the value: \(encoded.prefix(200))")
        check(again.encoded == encoded, "encoding is not a fixed point: \(encoded.prefix(200))")
        for scalar in encoded.unicodeScalars {
            check(scalar.value >= 0x20 && !["<", ">", "&", "\u{2028}", "\u{2029}"].contains(scalar),
                  "the encoding carries U+\(String(scalar.value, radix: 16)) unescaped")
        }
        if case let .object(members) = value, let last = members.last {
            check(value.member(last.0) == members.last(where: { $0.0.lowercased() == last.0.lowercased() })?.1,
                  "member(\(last.0)) is not the last member of that name")
        }
    }

    /// Runs once, on the first input: a stack overflow here is a crash like any other.
    static let depthBombsOnce: Void = {
        let depth = 100_000
        for bomb in [String(repeating: "[", count: depth),
                     String(repeating: "{\"a\":", count: depth),
                     String(repeating: "[{\"a\":", count: depth / 2),
                     String(repeating: "[", count: depth) + String(repeating: "]", count: depth)] {
            check((try? JSONParser.parse(bomb)) == nil, "a document nested \(depth) deep parsed")
            check((try? LeaseAttributes.decode(bomb)) == nil, "a lease value nested \(depth) deep decoded")
            check((try? NetworkConfig.decode(bomb)) == nil, "a config nested \(depth) deep decoded")
            check((try? EtcdV2Answer.decode(bomb)) == nil && EtcdV2Answer.failure(bomb) == nil, "a v2 answer nested \(depth) deep decoded")
        }
        // The deepest document allowed still parses and round-trips.
        let deepest = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        guard let value = try? JSONParser.parse(deepest) else { fuzzFailure("64 levels of nesting were refused") }
        checkRoundTrip(value, from: deepest)
        check((try? JSONParser.parse("[" + deepest + "]")) == nil, "65 levels of nesting parsed")
    }()
}
