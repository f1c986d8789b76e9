/// A network namespace made by the lab, and commands run inside it.
public struct Namespace: Sendable, Hashable, CustomStringConvertible {
    public let name: String

    public var description: String { name }

    /// Where `ip netns` keeps this namespace.
    public var path: String { "/var/run/netns/\(name)" }

    public init(name: String) {
        self.name = name
    }

    /// `ip netns exec <name> <command…>`.
    public func command(_ arguments: [String]) -> [String] {
        ["ip", "netns", "exec", name] + arguments
    }

    @discardableResult
    public func run(_ arguments: [String]) throws -> CommandResult {
        try CommandRunner.run(command(arguments))
    }

    @discardableResult
    public func check(_ arguments: [String]) throws -> CommandResult {
        try CommandRunner.check(command(arguments))
    }

    /// `ip -n <name> …`
    @discardableResult
    public func ip(_ arguments: [String]) throws -> CommandResult {
        try CommandRunner.check(["ip", "-n", name] + arguments)
    }
}
