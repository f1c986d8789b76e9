import AsyncHTTPClient
import FoundationEssentials
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// etcd's v2 keys API over HTTP(S), as flannel 0.7 and `etcdctl` (v2) speak it: plaintext or
/// TLS (with a client certificate), basic auth, several endpoints tried in turn.
public final class EtcdV2Client: Sendable {
    /// One answer: the HTTP status, etcd's index when it answered, and the body.
    public struct Response: Sendable {
        public var endpoint: EtcdEndpoint
        public var status: Int
        public var index: Int64?
        public var body: String
    }

    public let configuration: EtcdClientConfiguration
    private let http: HTTPClient
    private let authorization: String?
    /// The endpoint that answered last, tried first; it starts at a random one, as etcd's v2
    /// client picks its endpoint, so a cluster's agents spread over its members.
    private let preferred: Mutex<Int>

    public init(configuration: EtcdClientConfiguration) throws(EtcdClientSetupError) {
        self.configuration = configuration
        preferred = Mutex(configuration.endpoints.isEmpty ? 0 : Int.random(in: 0..<configuration.endpoints.count))
        var tls: TLSConfiguration?
        if configuration.endpoints.contains(where: \.secure) || configuration.caFile != nil || configuration.certFile != nil {
            tls = try Self.tlsConfiguration(configuration)
        }
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: Self.timeAmount(configuration.requestTimeout))))
        if let user = configuration.username {
            authorization = "Basic " + Data("\(user):\(configuration.password ?? "")".utf8).base64EncodedString()
        } else {
            authorization = nil
        }
    }

    public func close() async {
        try? await http.shutdown()
    }

    deinit {
        // A client dropped without close() (an error path) must not take the process down:
        // async-http-client traps when deinitialised while running. Non-blocking, so safe
        // on any thread.
        http.shutdown { _ in }
    }

    private static func tlsConfiguration(_ configuration: EtcdClientConfiguration) throws(EtcdClientSetupError) -> TLSConfiguration {
        let (ca, cert, key) = try configuration.checkedTLSFiles()
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca { tls.trustRoots = .file(ca) }
        if let cert, let key {
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
            } catch {
                throw EtcdClientSetupError(option: "--etcd-certfile", "\(cert) is not a PEM certificate: \(error)")
            }
            do {
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            } catch {
                throw EtcdClientSetupError(option: "--etcd-keyfile", "\(key) is not a PEM private key: \(error)")
            }
        }
        return tls
    }

    /// The whole request (answer and body) took longer than its time limit: for a watch's long
    /// poll, nothing happened; ask again.
    public struct TimedOut: Error, CustomStringConvertible {
        public var description: String { "no complete answer in time" }
    }

    /// `method` on `/v2/keys<key>` with `query`, and `form` as the body when given. Tries the
    /// endpoints in turn while the failure is about reaching one, or the endpoint answers
    /// 5xx (no leader, a partitioned member). `timeout` (a watch passes a long one) bounds
    /// each try, body included: etcd answers a long poll's headers at once.
    public func request(_ method: HTTPMethod, key: String, query: [(String, String)] = [], form: [(String, String)]? = nil,
                        timeout: Duration? = nil) async throws -> Response {
        var failures: [String] = []
        let start = preferred.withLock { $0 }
        let count = configuration.endpoints.count
        for offset in 0..<count {
            let endpoint = configuration.endpoints[(start + offset) % count]
            var url = "\(endpoint)/v2/keys\(Self.escapePath(key))"
            if !query.isEmpty { url += "?" + Self.encode(query) }
            var request = HTTPClientRequest(url: url)
            request.method = method
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            if let form {
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                request.body = .bytes(ByteBuffer(string: Self.encode(form)))
            }
            let limit = timeout ?? configuration.requestTimeout
            let maximumBody = configuration.maximumAnswerBytes
            do {
                let response = try await withTimeLimit(limit) { [http, request] in
                    let response = try await http.execute(request, deadline: .now() + Self.timeAmount(limit))
                    // v2 has no paging: a bounded body, and a clear error past it.
                    let body: ByteBuffer
                    do {
                        body = try await response.body.collect(upTo: maximumBody)
                    } catch is NIOTooManyBytesError {
                        throw EtcdError.answerTooLarge(what: "GET \(key)", limitBytes: maximumBody)
                    }
                    return Response(endpoint: endpoint, status: Int(response.status.code),
                                    index: response.headers.first(name: "X-Etcd-Index").flatMap { Int64($0) }, body: String(buffer: body))
                }
                if response.status >= 500 {
                    failures.append("\(endpoint): HTTP \(response.status) \(response.body.prefix(200).trimmingWhitespace())")
                    continue
                }
                if offset > 0 { preferred.withLock { $0 = (start + offset) % count } }
                return response
            } catch is CancellationError {
                throw CancellationError()
            } catch let error as EtcdError {
                throw error
            } catch let error as TimedOut where timeout != nil {
                throw error
            } catch {
                if Task.isCancelled { throw CancellationError() }
                failures.append("\(endpoint): " + (error is TimedOut ? "no answer within \(limit)"
                    : EtcdFailure.describe(error, endpoint: endpoint, configuration: configuration)))
            }
        }
        throw EtcdError.unavailable(failures.joined(separator: "; "))
    }

    /// Runs `body`, giving up with `TimedOut` after `limit`.
    private func withTimeLimit<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                throw TimedOut()
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { name, value in "\(name)=\(percentEncoded(value, keeping: ""))" }.joined(separator: "&")
    }

    static func escapePath(_ key: String) -> String {
        percentEncoded(key, keeping: "/")
    }

    /// RFC 3986: every UTF-8 byte but the unreserved characters (and `extra`) as %XX.
    static func percentEncoded(_ text: String, keeping extra: String) -> String {
        let kept = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~".utf8).union(extra.utf8)
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        for byte in text.utf8 {
            if kept.contains(byte) { bytes.append(byte) } else { bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]] }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
