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

        let inputEnd = inputPipe[0], outputEnd = outputPipe[1]
        let pid = try spawn(arguments, environment: environment) { actions in
            if input != nil {
                posix_spawn_file_actions_adddup2(&actions, inputEnd, STDIN_FILENO)
            } else {
                posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
            }
            posix_spawn_file_actions_adddup2(&actions, outputEnd, STDOUT_FILENO)
            posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, errorsPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }
        // Our copies of the child's ends go, so end of file comes when the child is done.
        close(outputPipe[1]); outputPipe[1] = -1
        if input != nil {
            close(inputPipe[0]); inputPipe[0] = -1
            _ = fcntl(inputPipe[1], F_SETFL, fcntl(inputPipe[1], F_GETFL) | O_NONBLOCK)
        }
        let output = exchange(input: Array((input ?? "").utf8), writingTo: &inputPipe[1], readingFrom: outputPipe[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw Failure(call: "waitpid", code: errno) }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as macros.
        let exitStatus = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Outcome(status: exitStatus, output: String(decoding: output, as: UTF8.self))
    }

    /// posix_spawn with a clean signal mask and default dispositions, descriptors from 3 up
    /// closed in the child after `files` set up 0–2, and `flags` (e.g. POSIX_SPAWN_SETSID) added.
    static func spawn(_ arguments: [String], environment: [String: String], flags: Int16 = 0,
                      files: (inout posix_spawn_file_actions_t) -> Void) throws(Failure) -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        files(&actions)
        // After the dup2s: it closes everything from 3 up in the child.
        let cleaned = flannel_spawn_clean(&attributes, &actions)
        guard cleaned == 0 else { throw Failure(call: "posix_spawn's attributes", code: cleaned) }
        if flags != 0 {
            var current: Int16 = 0
            posix_spawnattr_getflags(&attributes, &current)
            posix_spawnattr_setflags(&attributes, current | flags)
        }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw Failure(call: "posix_spawn \(arguments[0])", code: spawned) }
        return pid
    }

    /// Feeds `input` and reads the output at the same time, so neither side waits on a full
    /// pipe. The input side is closed (and set to -1) once all is written or the child stops
    /// reading (EPIPE: SIGPIPE is ignored). Returns all the output.
    private static func exchange(input: [UInt8], writingTo inputEnd: inout Int32, readingFrom outputEnd: Int32) -> [UInt8] {
        var remaining = input[...]
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var reading = true
        if inputEnd >= 0 && remaining.isEmpty { close(inputEnd); inputEnd = -1 }
        while reading || inputEnd >= 0 {
            var descriptors = [pollfd(fd: reading ? outputEnd : -1, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: inputEnd, events: Int16(POLLOUT), revents: 0)]
            if poll(&descriptors, 2, -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            if descriptors[1].revents != 0 {
                let written = remaining.withUnsafeBytes { write(inputEnd, $0.baseAddress, $0.count) }
                if written > 0 { remaining = remaining.dropFirst(written) }
                if remaining.isEmpty || (written < 0 && errno != EAGAIN && errno != EINTR) { close(inputEnd); inputEnd = -1 }
            }
            if descriptors[0].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(outputEnd, $0.baseAddress, $0.count) }
                if count > 0 { output += buffer[..<count] } else if count == 0 || (errno != EINTR && errno != EAGAIN) { reading = false }
            }
        }
        if inputEnd >= 0 { close(inputEnd); inputEnd = -1 }
        return output
    }
}
