import Agent

/// A container that a lab host's docker engine runs.
public struct DockerContainer: Sendable {
    public let engine: DockerEngine
    public let name: String
    public let address: IPv4Address
    public let prefixLength: Int
    /// The host side of its veth, on docker0 (`vethXXXXXXX`).
    public let hostVeth: String

    /// `docker exec NAME <arguments>`; its result whether or not it succeeded.
    public func exec(_ arguments: [String]) throws -> CommandResult {
        try CommandRunner.run(engine.clientCommand(["exec", name] + arguments))
    }
}
