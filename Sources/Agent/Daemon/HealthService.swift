import Logging
import ServiceLifecycle

/// `/healthz`, `/readyz` and `/metrics` as a service of the daemon's group: listens until the
/// group shuts down (after the agent stopped).
struct HealthService: Service, CustomStringConvertible {
    let server: HealthServer
    let host: String
    let port: Int
    let logger: Logger

    var description: String { "health endpoints" }

    func run() async throws {
        do {
            try await server.start(host: host, port: port)
        } catch {
            throw FlanneldDaemon.Fatal("--healthz-ip/--healthz-port: cannot listen on \(host):\(port): \(error)")
        }
        logger.info("health endpoints on http://\(host):\(port)/healthz, /readyz and /metrics")
        defer { server.stop() }
        try? await gracefulShutdown()
    }
}
