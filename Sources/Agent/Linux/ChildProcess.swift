import CLinuxShims
import Glibc

/// A child process run to its end with posix_spawn: its standard input fed from a string (or
/// /dev/null), its standard output read whole, its standard error written to a file. What
/// Foundation's `Process` does for the rule tools, without linking all of Foundation.
enum ChildProcess {
    struct Outcome {
        var status: Int32
        var output: String
    }

    struct Failure: Error, CustomStringConvertible {
        var call: String
        var code: Int32
        var description: String { "\(call): \(String(cString: strerror(code)))" }
    }

    /// Runs `arguments` (the first is the executable's path) with exactly `environment`.
    /// The exit status, or 128 + the signal's number when a signal ended it.
    static func run(_ arguments: [String], environment: [String: String], input: String?, errorsPath: String) throws(Failure) -> Outcome {
        var inputPipe: [Int32] = [-1, -1], outputPipe: [Int32] = [-1, -1]
        let outputMade = flannel_pipe_cloexec(&outputPipe)
        guard outputMade == 0 else { throw Failure(call: "pipe2", code: -outputMade) }
        defer { for descriptor in outputPipe where descriptor >= 0 { close(descriptor) } }
        if input != nil {
            let inputMade = flannel_pipe_cloexec(&inputPipe)
            guard inputMade == 0 else { throw Failure(call: "pipe2", code: -inputMade) }
        }
        defer { for descriptor in inputPipe where descriptor >= 0 { close(descriptor) } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if input != nil {
            posix_spawn_file_actions_adddup2(&actions, inputPipe[0], STDIN_FILENO)
        } else {
            posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], STDOUT_FILENO)
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, errorsPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
        guard spawned == 0 else { throw Failure(call: "posix_spawn \(arguments[0])", code: spawned) }
        // Our copies of the child's ends go, so end of file comes when the child is done.
        close(outputPipe[1]); outputPipe[1] = -1
        if let input {
            close(inputPipe[0]); inputPipe[0] = -1
            // A tool that exits before reading gives EPIPE here (SIGPIPE is ignored), not a crash.
            var remaining = Array(input.utf8)[...]
            while !remaining.isEmpty {
                let written = remaining.withUnsafeBytes { write(inputPipe[1], $0.baseAddress, $0.count) }
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { break }
                remaining = remaining.dropFirst(written)
            }
            close(inputPipe[1]); inputPipe[1] = -1
        }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(outputPipe[0], $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            output += buffer[..<count]
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw Failure(call: "waitpid", code: errno) }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as macros.
        let exitStatus = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Outcome(status: exitStatus, output: String(decoding: output, as: UTF8.self))
    }
}
