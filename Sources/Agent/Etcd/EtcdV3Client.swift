import EtcdProto
import FoundationEssentials
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Synchronization

/// etcd's v3 API over gRPC, as etcdctl and upstream flannel speak it: plaintext or TLS
/// (with a client certificate), user/password authentication with a token, several endpoints
/// with failover, a deadline on every unary call.
///
/// A call that cannot reach an endpoint moves on to the next; when none answers, the error
/// lists every endpoint with its reason. Authentication happens lazily and again once when
/// etcd says the token is invalid (tokens expire, and vanish when etcd restarts).
public final class EtcdV3Client: EtcdKV {
    typealias Client = GRPCClient<HTTP2ClientTransport.Posix>

    struct Connection: Sendable {
        var endpoint: EtcdEndpoint
        var client: Client
    }

    struct State {
        /// The endpoint that answered last: tried first. It starts at a random one, as
        /// clientv3's balancer spreads clients, so that a cluster's agents do not all load
        /// (and all fail over from) its first member.
        var preferred = 0
        /// Endpoints that have answered at least once: a broken connection to one of them is
        /// an outage, never a TLS mismatch.
        var answered: Set<Int> = []
        var token: String?
        /// Running watches, cancelled by `close()` (a graceful shutdown waits for open streams).
        var watches: [Int: Task<Void, Never>] = [:]
        var nextWatch = 0
        var closed = false
        /// etcd said authentication is not enabled: send no token (as clientv3 does).
        var authDisabled = false
    }

    public let configuration: EtcdClientConfiguration
    let connections: [Connection]
    private let runners: [Task<Void, Never>]
    let state: Mutex<State>

    public init(configuration: EtcdClientConfiguration) throws(EtcdClientSetupError) {
        guard !configuration.endpoints.isEmpty else {
            throw EtcdClientSetupError(option: "--etcd-endpoints", "no endpoint given; pass e.g. --etcd-endpoints=http://127.0.0.1:2379")
        }
        self.configuration = configuration
        let security = try Self.transportSecurity(configuration)
        var connections: [Connection] = []
        for endpoint in configuration.endpoints {
            let target: any ResolvableTarget
            switch endpoint.host {
            case let .ipv4(address): target = .ipv4(address: address, port: endpoint.port)
            case let .ipv6(address): target = .ipv6(address: address, port: endpoint.port)
            case let .name(host): target = .dns(host: host, port: endpoint.port)
            }
            // Keepalive notices a dead host or a dropped NAT mapping under a long watch (at or
            // above etcd's 5 s minimum ping interval); reconnect attempts stay frequent so an
            // etcd that comes back is used within seconds, not after gRPC's 2-minute backoff.
            var config = HTTP2ClientTransport.Posix.Config.defaults
            config.connection.keepalive = .init(time: .seconds(30), timeout: .seconds(10), allowWithoutCalls: true)
            config.backoff = .init(initial: .milliseconds(100), max: .seconds(5), multiplier: 1.6, jitter: 0.2)
            let transport: HTTP2ClientTransport.Posix
            do {
                transport = try HTTP2ClientTransport.Posix(
                    target: target, transportSecurity: endpoint.secure ? security : .plaintext, config: config)
            } catch {
                throw EtcdClientSetupError(option: "--etcd-endpoints", "cannot use \(endpoint): \(EtcdFailure.causeChain(error))")
            }
            connections.append(Connection(endpoint: endpoint, client: GRPCClient(transport: transport)))
        }
        self.connections = connections
        state = Mutex(State(preferred: Int.random(in: 0..<connections.count)))
        runners = connections.map { connection in
            Task { try? await connection.client.runConnections() }
        }
    }

    /// Forgets the token if it is still `token` (a watch found it stale).
    func dropToken(_ token: String?) {
        state.withLock { if $0.token == token { $0.token = nil } }
    }

    /// Ends every watch and closes every connection; calls in flight fail.
    public func close() async {
        let watches = state.withLock { state in
            state.closed = true
            defer { state.watches.removeAll() }
            return Array(state.watches.values)
        }
        for watch in watches { watch.cancel() }
        for watch in watches { await watch.value }
        for connection in connections { connection.client.beginGracefulShutdown() }
        for runner in runners { await runner.value }
    }

    deinit {
        for connection in connections { connection.client.beginGracefulShutdown() }
    }

    private static func transportSecurity(_ configuration: EtcdClientConfiguration) throws(EtcdClientSetupError)
        -> HTTP2ClientTransport.Posix.TransportSecurity {
        let (ca, cert, key) = try configuration.checkedTLSFiles()
        let trust: TLSConfig.TrustRootsSource = ca.map { .certificates([.file(path: $0, format: .pem)]) } ?? .systemDefault
        if let cert, let key {
            return .mTLS(certificateChain: [.file(path: cert, format: .pem)], privateKey: .file(path: key, format: .pem)) {
                $0.trustRoots = trust
            }
        }
        return .tls { $0.trustRoots = trust }
    }

    // MARK: Calls with failover and authentication

    var callOptions: CallOptions {
        var options = CallOptions.defaults
        options.timeout = configuration.requestTimeout
        options.waitForReady = false
        options.allowAnswers(upTo: configuration.maximumAnswerBytes)
        return options
    }

    /// Runs `call` on the preferred endpoint, then on the others while the failure is about
    /// reaching the endpoint. `key` names what the call touches, for permission errors.
    func withFailover<T: Sendable>(
        key: String,
        _ call: (Client, Metadata) async throws -> T
    ) async throws -> T {
        let (start, closed) = state.withLock { ($0.preferred, $0.closed) }
        guard !closed else { throw CancellationError() }
        var failures: [String] = []
        for offset in 0..<connections.count {
            let index = (start + offset) % connections.count
            let connection = connections[index]
            do {
                let result = try await withAuthentication(connection) { metadata in try await call(connection.client, metadata) }
                state.withLock {
                    if offset > 0 { $0.preferred = index }
                    $0.answered.insert(index)
                }
                return result
            } catch let error as RPCError where EtcdFailure.isConnectivity(error) {
                let answeredBefore = state.withLock { $0.answered.contains(index) }
                failures.append("\(connection.endpoint) (\(EtcdFailure.describe(error, endpoint: connection.endpoint, configuration: configuration, answeredBefore: answeredBefore)))")
            } catch let error as RPCError {
                throw translate(error, key: key, endpoint: connection.endpoint)
            } catch is RuntimeError {
                // The gRPC client was stopped: `close()` was called.
                throw CancellationError()
            }
        }
        throw EtcdError.unavailable("tried " + failures.joined(separator: ", "))
    }

    /// Adds the token (authenticating first if needed) and retries once with a fresh token when
    /// etcd says ours is invalid.
    private func withAuthentication<T: Sendable>(_ connection: Connection, _ call: (Metadata) async throws -> T) async throws -> T {
        guard configuration.username != nil, !state.withLock({ $0.authDisabled }) else { return try await call([:]) }
        guard let token = try await currentToken(connection) else { return try await call([:]) }
        do {
            return try await call(Self.tokenMetadata(token))
        } catch let error as RPCError where Self.isStaleToken(error) {
            // Clear only the token this call used: another task may have fetched a new one.
            state.withLock { if $0.token == token { $0.token = nil } }
            let fresh = try await currentToken(connection)
            return try await call(fresh.map(Self.tokenMetadata) ?? [:])
        }
    }

    /// etcd's answers to a token it no longer honours: expired or unknown (restarts drop
    /// simple tokens), or issued before the last user/role change.
    static func isStaleToken(_ error: RPCError) -> Bool {
        error.code == .unauthenticated || error.message.contains("invalid auth token")
            || error.message.contains("auth store is old")
    }

    private static func tokenMetadata(_ token: String) -> Metadata {
        var metadata = Metadata()
        metadata.addString(token, forKey: "token")
        return metadata
    }

    /// The cached token, or a new one; nil when etcd has authentication turned off.
    func currentToken(_ connection: Connection) async throws -> String? {
        if let token = state.withLock({ $0.token }) { return token }
        var request = Etcdserverpb_AuthenticateRequest()
        request.name = configuration.username ?? ""
        request.password = configuration.password ?? ""
        let auth = Etcdserverpb_Auth.Client(wrapping: connection.client)
        let response: Etcdserverpb_AuthenticateResponse
        do {
            response = try await auth.authenticate(request, options: callOptions)
        } catch let error as RPCError where error.message.contains("authentication is not enabled") {
            state.withLock { $0.authDisabled = true }
            return nil
        } catch let error as RPCError where error.code == .invalidArgument || error.message.contains("authentication failed") {
            throw EtcdError.authenticationFailed(user: request.name)
        }
        guard !response.token.isEmpty else {
            throw EtcdError.badResponse(endpoint: connection.endpoint.description,
                                        reason: "authentication returned no token (is auth enabled on etcd?)")
        }
        state.withLock { $0.token = response.token }
        return response.token
    }

    /// etcd's answers that mean something to the agent, as `EtcdError`.
    func translate(_ error: RPCError, key: String, endpoint: EtcdEndpoint) -> any Error {
        let message = error.message
        // The transport reports an answer above our limit as an internal error whose cause
        // is "resourceExhausted: Message has exceeded the configured maximum payload size".
        if EtcdFailure.causeChain(error).contains("exceeded the configured maximum payload size") {
            return EtcdError.answerTooLarge(what: key, limitBytes: configuration.maximumAnswerBytes)
        }
        switch error.code {
        case .permissionDenied:
            return EtcdError.permissionDenied(key: key, user: configuration.username)
        case .invalidArgument where message.contains("authentication failed"):
            return EtcdError.authenticationFailed(user: configuration.username ?? "")
        case .notFound where message.contains("lease not found"):
            return EtcdError.leaseNotFound(0)
        case .outOfRange where message.contains("compacted"):
            return EtcdError.compacted(compactRevision: 0)
        case .failedPrecondition, .invalidArgument, .outOfRange:
            return EtcdError.invalidRequest("\(message) (\(endpoint))")
        case .unimplemented:
            return EtcdError.badResponse(endpoint: endpoint.description, reason: "the etcd v3 API is not served there (\(message))")
        default:
            return EtcdError.badResponse(endpoint: endpoint.description, reason: EtcdFailure.causeChain(error))
        }
    }
}
