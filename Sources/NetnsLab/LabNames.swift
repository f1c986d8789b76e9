import Foundation

/// Names of lab objects. Every namespace, link and file the lab makes starts with `prefix`
/// plus a per-run tag, so parallel runs never collide and `netns-lab clean` can sweep exactly
/// what the lab made. Interface names stay within the kernel's 15 characters.
public struct LabNames: Sendable {
    public static let prefix = "fl"

    /// The run's tag: "fl" and six hex digits, e.g. "fl3a9c1e".
    public let run: String

    public init(run: String? = nil) {
        self.run = run ?? Self.prefix + String(UInt32.random(in: 0...0xFF_FFFF), radix: 16).leftPadded(to: 6)
    }

    /// Whether `name` is a namespace some lab run made ("fl" + six hex digits + "-").
    public static func isLabNamespace(_ name: String) -> Bool {
        let characters = Array(name)
        guard characters.count > 9, name.hasPrefix(prefix), characters[8] == "-" else { return false }
        return characters[2..<8].allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    /// Whether `name` is a run tag ("fl" + six hex digits), e.g. the name of a run's directory.
    public static func isRunTag(_ name: String) -> Bool {
        name.count == 8 && isLabNamespace(name + "-x")
    }

    /// A namespace name for `role` ("h1", "etcd", "sw", ...).
    public func namespace(_ role: String) -> String { "\(run)-\(role)" }

    /// An interface name for `role`, at most 15 characters.
    public func interface(_ role: String) -> String { String("\(run)\(role)".prefix(15)) }
}
