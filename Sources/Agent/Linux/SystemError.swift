#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which call, on what, and the kernel's reason.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public var call: String
    public var object: String
    public var errno: Int32

    public init(call: String, object: String, errno: Int32) {
        self.call = call
        self.object = object
        self.errno = errno
    }

    public var description: String {
        "\(call) on \(object) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }

    /// Throws for a shim's negative return value (-errno).
    @discardableResult
    static func check(_ result: Int32, _ call: String, _ object: String) throws(SystemError) -> Int32 {
        if result < 0 { throw SystemError(call: call, object: object, errno: -result) }
        return result
    }
}
