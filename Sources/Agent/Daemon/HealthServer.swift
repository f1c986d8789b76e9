import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// `/healthz` (200 while the process runs) and `/readyz` (503 until the lease is held, the
/// data path is up and subnet.env is written; then 200) and `/metrics` (Prometheus text), on
/// `--healthz-ip`/`--healthz-port`.
///
/// Whoever can reach the port must not be able to silence it or starve the agent of file
/// descriptors: at most `limits.connections` connections are open (a new one closes the
/// oldest, so a probe that sends its request at once is answered under a flood of idle
/// connections), each lives at most `limits.connectionLifetime` (one request, then close:
/// no idle or slow-header connection outlasts it), and a request larger than
/// `limits.requestBytes` closes its connection.
public final class HealthServer: Sendable {
    public struct Limits: Sendable {
        public var connections = 64
        public var connectionLifetime: TimeAmount = .seconds(5)
        public var requestBytes = 16 * 1024
        public init() {}
    }

    public let limits: Limits
    private let readiness = Mutex<String?>("starting")
    private let metrics = Mutex<(@Sendable () -> String)?>(nil)
    private let channel = Mutex<(any Channel)?>(nil)
    /// Open connections, oldest first.
    private let open = Mutex<[(id: ObjectIdentifier, channel: any Channel)]>([])

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// How many connections are open now.
    public var openConnections: Int { open.withLock { $0.count } }

    /// Marks the agent ready (nil) or not ready, with the reason `/readyz` shows.
    public func setNotReady(_ reason: String?) {
        readiness.withLock { $0 = reason }
    }

    /// What `/metrics` answers (until set: 503).
    public func setMetrics(_ render: @escaping @Sendable () -> String) {
        metrics.withLock { $0 = render }
    }

    /// Binds and serves; returns once listening. The bound port (useful with port 0).
    @discardableResult
    public func start(host: String, port: Int) async throws -> Int {
        let bound = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                admit(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RequestSizeLimit(limit: limits.requestBytes))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(HealthHandler(server: self))
                }
            }
            .bind(host: host, port: port)
            .get()
        channel.withLock { $0 = bound }
        return bound.localAddress?.port ?? port
    }

    public func stop() {
        channel.withLock { $0 }?.close(promise: nil)
        for connection in open.withLock({ $0 }) { connection.channel.close(promise: nil) }
    }

    /// Counts the connection in, closing the oldest beyond the limit, and bounds its life.
    private func admit(_ connection: any Channel) {
        let id = ObjectIdentifier(connection)
        let evicted = open.withLock { open -> [any Channel] in
            open.append((id, connection))
            let excess = max(0, open.count - limits.connections)
            defer { open.removeFirst(excess) }
            return open.prefix(excess).map(\.channel)
        }
        for old in evicted { old.close(promise: nil) }
        let deadline = connection.eventLoop.scheduleTask(in: limits.connectionLifetime) { connection.close(promise: nil) }
        connection.closeFuture.whenComplete { [self] _ in
            deadline.cancel()
            open.withLock { $0.removeAll { $0.id == id } }
        }
    }

    func answer(_ uri: String) -> (HTTPResponseStatus, String) {
        switch uri.split(separator: "?").first.map(String.init) ?? uri {
        case "/healthz": return (.ok, "ok\n")
        case "/readyz":
            if let reason = readiness.withLock({ $0 }) { return (.serviceUnavailable, "not ready: \(reason)\n") }
            return (.ok, "ready\n")
        case "/metrics":
            guard let render = metrics.withLock({ $0 }) else { return (.serviceUnavailable, "metrics not ready\n") }
            return (.ok, render())
        default: return (.notFound, "not found; try /healthz, /readyz or /metrics\n")
        }
    }
}

/// Closes a connection that sends more than `limit` bytes: a request here is one short line
/// and a few headers, and swift-nio's parser sets no header size limit of its own.
final class RequestSizeLimit: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let limit: Int
    /// Touched only on the channel's event loop.
    private var received = 0

    init(limit: Int) { self.limit = limit }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += unwrapInboundIn(data).readableBytes
        guard received <= limit else {
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(data)
    }
}

/// Answers one request per head; bodies are ignored.
final class HealthHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let server: HealthServer

    init(server: HealthServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case let .head(request) = unwrapInboundIn(data) else { return }
        let (status, body) = server.answer(request.uri)
        var headers = HTTPHeaders()
        let isMetrics = request.uri.split(separator: "?").first == "/metrics"
        headers.add(name: "Content-Type", value: isMetrics ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.close(promise: nil)
    }
}
