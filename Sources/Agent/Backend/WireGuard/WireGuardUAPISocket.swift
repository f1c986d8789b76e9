import Glibc

/// One exchange with wireguard-go over its UAPI socket: connect, send a request, read the
/// answer up to its `errno=` line. A new connection each time, as `wg` does: after an error
/// wireguard-go leaves the rest of a request unread, so a connection is never reused.
struct WireGuardUAPISocket {
    /// Where wireguard-go puts its sockets (fixed in wireguard-go; not per network namespace).
    static let directory = "/var/run/wireguard"

    let path: String

    init(device: String) {
        path = "\(Self.directory)/\(device).sock"
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        /// The socket's receive or send timed out: wireguard-go is busy or wedged, not gone.
        var timedOut = false
    }

    var exists: Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK
    }

    /// Sends `request` and returns the whole answer, which ends with `errno=<n>` and a blank line.
    func exchange(_ request: String) throws(Failure) -> String {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw Failure(description: "\(path) is too long for a socket path") }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // A wedged wireguard-go must not stall the agent's resync for ever.
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) }
        }
        guard connected == 0 else { throw Failure(description: "connect \(path): \(String(cString: strerror(errno))) (is wireguard-go running?)") }
        let out = Array(request.utf8)
        var sent = 0
        while sent < out.count {
            let result = out.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else { throw Failure(description: "send to \(path): \(String(cString: strerror(errno)))") }
            sent += result
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !Self.isComplete(answer) {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let code = errno
                let why = count == 0 ? "the connection closed" : String(cString: strerror(code))
                throw Failure(description: "reading \(path): \(why) before the answer's errno line",
                              timedOut: count < 0 && (code == EAGAIN || code == EWOULDBLOCK))
            }
            answer += buffer[..<count]
            guard answer.count < 1 << 24 else { throw Failure(description: "\(path) answered more than 16 MiB") }
        }
        return String(decoding: answer, as: UTF8.self)
    }

    /// An answer is whole once an `errno=` line is followed by the blank line.
    static func isComplete(_ answer: [UInt8]) -> Bool {
        guard answer.count >= 2, answer[answer.count - 1] == 0x0a, answer[answer.count - 2] == 0x0a else { return false }
        let text = String(decoding: answer.dropLast(2), as: UTF8.self)
        return text.split(separator: "\n").last?.hasPrefix("errno=") ?? false
    }
}
