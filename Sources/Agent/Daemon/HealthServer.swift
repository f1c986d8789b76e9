import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// `/healthz` (200 while the process runs) and `/readyz` (503 until the lease is held, the
/// data path is up and subnet.env is written; then 200) and `/metrics` (Prometheus text), on
/// `--healthz-ip`/`--healthz-port`.
public final class HealthServer: Sendable {
    private let readiness = Mutex<String?>("starting")
    private let metrics = Mutex<(@Sendable () -> String)?>(nil)
    private let channel = Mutex<(any Channel)?>(nil)

    public init() {}

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
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
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
