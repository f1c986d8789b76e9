/// What a finished command printed and how it exited.
public struct CommandResult: Sendable {
    public var command: [String]
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public var succeeded: Bool { status == 0 }

    /// The command line as a person would type it, for messages.
    public var commandLine: String { command.joined(separator: " ") }
}

/// A command that failed, with what it printed, so the test or lab output says why.
public struct CommandError: Error, CustomStringConvertible {
    public var result: CommandResult

    public var description: String {
        let output = (result.stderr.isEmpty ? result.stdout : result.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
        return "`\(result.commandLine)` exited with status \(result.status)" + (output.isEmpty ? "" : ": \(output)")
    }
}

import Foundation
