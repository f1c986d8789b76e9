import Agent
import Testing

@Suite("JSON parsing and encoding")
struct JSONParserTests {
    @Test func keepsMemberOrderAndRoundTrips() throws {
        let text = #"{"b":1,"a":[true,false,null],"c":{"d":"x\"y\\z\n"},"e":-1.5e3}"#
        let value = try JSONParser.parse(text)
        #expect(value.encoded == text)
    }

    @Test func membersMatchCaseInsensitivelyAndTheLastDuplicateWins() throws {
        let value = try JSONParser.parse(#"{"network":"a","NETWORK":"b"}"#)
        #expect(value.member("Network") == .string("b"))
    }

    @Test func decodesEscapes() throws {
        #expect(try JSONParser.parse(#""\u00e9\ud83d\ude00\/""#) == .string("é😀/"))
    }

    @Test(arguments: [
        ("", "unexpected end of input"),
        ("{", "expected a member name"),
        ("{\"a\" 1}", "expected ':'"),
        ("{\"a\":1,}", "expected a member name"),
        ("[1 2]", "expected ',' or ']'"),
        ("01", "unexpected text after the end"),
        ("1.", "decimal point"),
        ("\"abc", "unterminated string"),
        ("tru", "expected true"),
        ("{} x", "unexpected text after the end"),
        ("\"\u{01}\"", "control characters"),
        ("\"\\x\"", "unknown escape"),
        ("\"\\u+041\"", "four hex digits"),
    ])
    func reportsWhereAndWhy(text: String, reason: String) {
        #expect {
            try JSONParser.parse(text)
        } throws: { error in
            "\(error)".contains(reason) && "\(error)".contains("at byte")
        }
    }

    @Test func escapesLikeGo() {
        // Go's json.Marshal escapes <, >, & and the JavaScript line separators.
        #expect(JSONValue.string("a<b>&\u{2028}\u{01}").encoded == #""a\u003cb\u003e\u0026\u2028\u0001""#)
    }

    @Test func refusesPathologicalNesting() {
        let deep = String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000)
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse(deep) }
    }

    @Test func integerValueOnlyForWholeNumbers() throws {
        #expect(try JSONParser.parse("24").integerValue == 24)
        #expect(try JSONParser.parse("24.0").integerValue == nil)
        #expect(try JSONParser.parse("2e1").integerValue == nil)
        #expect(try JSONParser.parse("-3").integerValue == -3)
    }
}
