import Agent
import Glibc
import NIOCore
import Testing

/// The health port under hostile clients, over real loopback sockets: a flood of idle
/// connections, slow clients and oversized requests neither silence `/healthz` nor hold file
/// descriptors for long.
@Suite("Health server limits", .serialized)
struct HealthServerLimitsTests {
    /// A blocking TCP connection to 127.0.0.1:`port`; reads give up after 10 s (a safety net,
    /// not a timing assertion: every read here is answered or closed long before).
    static func connect(_ port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(errno) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw POSIXError(code)
        }
        return fd
    }

    struct POSIXError: Error, CustomStringConvertible {
        var code: Int32
        init(_ code: Int32) { self.code = code }
        var description: String { String(cString: strerror(code)) }
    }

    static func send(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeMutableBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { return }
            offset += sent
        }
    }

    /// Everything the server sends until it closes the connection ("" when it closes at once);
    /// nil when it neither answered nor closed (the 10 s safety net ran out, or an error).
    static func readAll(_ fd: Int32) -> String? {
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            // A close with our bytes still unread there arrives as a reset.
            if count == 0 || count < 0 && errno == ECONNRESET { return String(decoding: answer, as: UTF8.self) }
            guard count > 0 else { return nil }
            answer += buffer[0..<count]
        }
    }

    static func get(_ port: Int, _ path: String) throws -> String? {
        let fd = try connect(port)
        defer { close(fd) }
        send(fd, "GET \(path) HTTP/1.1\r\nHost: flannel\r\n\r\n")
        return readAll(fd)
    }

    @Test func healthzAnswersUnderAFloodOfIdleConnections() async throws {
        let server = HealthServer()
        let port = try await server.start(host: "127.0.0.1", port: 0)
        defer { server.stop() }
        var idle: [Int32] = []
        defer { idle.forEach { close($0) } }
        for _ in 0..<300 { idle.append(try Self.connect(port)) }
        #expect(try Self.get(port, "/healthz")?.hasPrefix("HTTP/1.1 200 OK") == true)
        #expect(server.openConnections <= server.limits.connections)
        // The oldest idle connections were closed to make room.
        #expect(Self.readAll(idle[0]) == "")
    }

    @Test func aConnectionThatNeverFinishesItsRequestIsClosed() async throws {
        var limits = HealthServer.Limits()
        limits.connectionLifetime = .milliseconds(200)
        let server = HealthServer(limits: limits)
        let port = try await server.start(host: "127.0.0.1", port: 0)
        defer { server.stop() }
        let slow = try Self.connect(port)
        defer { close(slow) }
        Self.send(slow, "GET /healthz HTTP/1.1\r\nX-Slow: ")
        #expect(Self.readAll(slow) == "", "closed without an answer")
        #expect(try Self.get(port, "/healthz")?.hasPrefix("HTTP/1.1 200 OK") == true)
    }

    @Test func anOversizedRequestIsClosedWithoutAnAnswer() async throws {
        let server = HealthServer()
        let port = try await server.start(host: "127.0.0.1", port: 0)
        defer { server.stop() }
        let fd = try Self.connect(port)
        defer { close(fd) }
        Self.send(fd, "GET /healthz HTTP/1.1\r\n" + String(repeating: "X-Filler: \(String(repeating: "a", count: 1000))\r\n", count: 40) + "\r\n")
        #expect(Self.readAll(fd) == "")
        #expect(try Self.get(port, "/healthz")?.hasPrefix("HTTP/1.1 200 OK") == true)
    }
}
