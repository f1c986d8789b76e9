import FoundationEssentials
import Glibc

/// sd_notify for `Type=notify` units: "READY=1" to `$NOTIFY_SOCKET` once subnet.env is
/// written, so `ExecStartPost=mk-docker-opts.sh` (and docker after it) never run before it.
enum SystemdNotify {
    /// Sends `state`; nil when there is no socket to tell or it worked, else why not.
    static func send(_ state: String, environment: [String: String]) -> String? {
        guard var path = environment["NOTIFY_SOCKET"], !path.isEmpty else { return nil }
        // "@name" is a socket in the abstract namespace: a leading NUL byte.
        let abstract = path.hasPrefix("@")
        if abstract { path.removeFirst() }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = (abstract ? [0] : []) + Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return "NOTIFY_SOCKET \(path) is longer than \(capacity - 1) bytes" }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return "socket: \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
        let sent = state.withCString { text in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, text, strlen(text), 0, $0, length) }
            }
        }
        return sent < 0 ? "sendto \(path): \(String(cString: strerror(errno)))" : nil
    }
}
