@testable import AgentCore
@testable import Agent
import EtcdProto
import Foundation
import GRPCCore
import Testing

@Suite("etcd client parts (no server)")
struct EtcdClientPartsTests {
    @Test func walkthroughEndpointsParse() throws {
        let endpoints = try EtcdEndpoint.parseList("https://10.12.10.209:2379,https://10.12.10.200:2379, https://10.12.10.210:2379")
        #expect(endpoints.map(\.description) == ["https://10.12.10.209:2379", "https://10.12.10.200:2379", "https://10.12.10.210:2379"])
        #expect(endpoints.allSatisfy { $0.secure })
    }

    @Test func endpointFormsAndDefaults() throws {
        #expect(try EtcdEndpoint.parse("http://127.0.0.1").port == 2379)
        #expect(try EtcdEndpoint.parse("http://etcd.example:4001/").description == "http://etcd.example:4001")
        #expect(try EtcdEndpoint.parse("https://[fd00::1]:2379").host == .ipv6("fd00::1"))
        #expect(try EtcdEndpoint.parseList("http://a.example:1,http://a.example:1").count == 1)
    }

    @Test(arguments: [
        ("", "is empty"),
        ("10.0.0.1:2379", "must start with http:// or https://"),
        ("http://", "has no host"),
        ("http://10.0.0.1:0", "invalid port"),
        ("http://10.0.0.1:99999", "invalid port"),
        ("http://10.0.0.1:x", "invalid port"),
        ("http://10.0.0.1:2379/v2/keys", "has a path"),
        ("http://[fd00::1:2379", "unclosed"),
        ("http://a b:2379", "invalid host"),
        ("http://10.0.0.1:2379,", "empty entry"),
    ])
    func badEndpointsSayWhichAndWhy(text: String, reason: String) {
        #expect {
            try EtcdEndpoint.parseList(text)
        } throws: { error in
            "\(error)".contains(reason) && "\(error)".hasPrefix("--etcd-endpoints:")
        }
    }

    @Test func prefixRangeEnd() {
        #expect(EtcdV3Client.prefixEnd("/a/") == Data("/a0".utf8))
        #expect(EtcdV3Client.prefixEnd("a\u{7F}") == Data([0x61, 0x80]))
    }

    @Test func versionCompareIsSentEvenWhenZero() throws {
        // VERSION and EQUAL are proto3 zero values: the target value must still be on the wire.
        let compare = EtcdV3Client.compare(.versionEquals(key: "/k", 0))
        #expect(compare.targetUnion == .version(0))
        let bytes: Data = try compare.serializedBytes()
        #expect(bytes.contains(0x20)) // field 4 (version), varint
    }

    @Test func watchEventsAreGroupedByRevision() {
        func event(_ key: String, _ revision: Int64, delete: Bool = false) -> Mvccpb_Event {
            var event = Mvccpb_Event()
            event.type = delete ? .delete : .put
            event.kv.key = Data(key.utf8)
            event.kv.modRevision = revision
            return event
        }
        let batches = EtcdV3Client.batches([event("/a", 5), event("/b", 6), event("/c", 6, delete: true), event("/d", 7)])
        #expect(batches.map(\.revision) == [5, 6, 7])
        #expect(batches[1].events.map(\.kind) == [.put, .delete])
    }

    /// Both ways a plaintext etcd answers an https:// endpoint (seen on this machine) get the
    /// same advice; a plain endpoint to a TLS server gets the opposite one.
    @Test func tlsMismatchMessages() throws {
        let configuration = EtcdClientConfiguration(endpoints: [])
        let secure = try EtcdEndpoint.parse("https://127.0.0.1:2379")
        let plain = try EtcdEndpoint.parse("http://127.0.0.1:2379")
        let reset = RPCError(code: .unavailable, message: "The server accepted the TCP connection but closed the connection before completing the HTTP/2 connection preface.",
                             cause: RPCError(code: .unavailable, message: "read(descriptor:pointer:size:): Connection reset by peer (errno: 104)"))
        let eof = RPCError(code: .unavailable, message: "Could not establish a connection",
                           cause: RPCError(code: .unavailable, message: "handshakeFailed(NIOSSL.BoringSSLError.sslError([Error:  EOF during handshake]))"))
        for error in [reset, eof] {
            #expect(EtcdFailure.describe(error, endpoint: secure, configuration: configuration).contains("does not speak TLS; use http://"))
        }
        #expect(EtcdFailure.describe(reset, endpoint: plain, configuration: configuration).contains("use https://"))
    }

    @Test func aBrokenConnectionToAnEndpointThatAnsweredIsAnOutageNotTLS() throws {
        let configuration = EtcdClientConfiguration(endpoints: [])
        let plain = try EtcdEndpoint.parse("http://192.0.2.2:2379")
        // What a SIGKILLed etcd member's open connection gives.
        let closed = RPCError(code: .unavailable, message: "Stream unexpectedly closed.")
        #expect(EtcdFailure.describe(closed, endpoint: plain, configuration: configuration).contains("use https://"))
        let described = EtcdFailure.describe(closed, endpoint: plain, configuration: configuration, answeredBefore: true)
        #expect(described.hasPrefix("the connection broke; it answered before, so etcd there stopped, restarted or was cut off"), "\(described)")
        #expect(!described.contains("TLS") && !described.contains("https"))
    }

    @Test func passwordSources() throws {
        #expect(try EtcdPassword.resolve(flag: nil, file: nil, environment: [:]) == nil)
        #expect(try EtcdPassword.resolve(flag: nil, file: nil, environment: ["FLANNELD_ETCD_PASSWORD": "env"]) == "env")
        #expect(try EtcdPassword.resolve(flag: "flag", file: nil, environment: ["FLANNELD_ETCD_PASSWORD": "env"]) == "flag")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("fl-pw-\(UUID().uuidString)")
        try "mypassword\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try EtcdPassword.resolve(flag: nil, file: file.path, environment: ["FLANNELD_ETCD_PASSWORD": "env"]) == "mypassword")
        #expect(throws: EtcdClientSetupError.self) { try EtcdPassword.resolve(flag: "x", file: file.path, environment: [:]) }
        // A file written on Windows, or without a final line break: the first line alone.
        for text in ["mypassword\r\nsecond line\r\n", "mypassword\r", "mypassword"] {
            try text.write(to: file, atomically: true, encoding: .utf8)
            #expect(try EtcdPassword.resolve(flag: nil, file: file.path, environment: [:]) == "mypassword", "\(text.debugDescription)")
        }
        #expect {
            try EtcdPassword.resolve(flag: nil, file: "/nonexistent/pw", environment: [:])
        } throws: { "\($0)" == "--etcd-password-file: /nonexistent/pw does not exist" }
    }

    @Test func aPasswordNeverAppearsInErrors() {
        let error = EtcdError.authenticationFailed(user: "flannel-test")
        #expect(!"\(error)".contains("mypassword"))
        #expect("\(error)".contains("--etcd-password-file"))
    }
}
