#if canImport(Glibc)
import Glibc
#endif

/// A netlink request the kernel refused: what we asked for, the errno, and the kernel's own
/// explanation when it gives one (extended ack).
public struct NetlinkError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was asked, e.g. "add route 10.1.15.0/24 via 10.1.15.0 dev flannel.1 onlink".
    public var operation: String
    public var errno: Int32
    public var kernelMessage: String?

    public init(operation: String, errno: Int32, kernelMessage: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.kernelMessage = kernelMessage
    }

    public var description: String {
        var text = "netlink: \(operation) failed: \(String(cString: strerror(errno))) (errno \(errno))"
        if let kernelMessage, !kernelMessage.isEmpty { text += ": the kernel says \"\(kernelMessage)\"" }
        return text
    }
}
