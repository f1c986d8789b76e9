import CLinuxShims
import Glibc

/// A long-running child started with posix_spawn in a session of its own (a terminal's ^C
/// to the agent does not reach it), standard input /dev/null, output appended to a log file:
/// wireguard-go, which must outlive an agent restart so that traffic keeps flowing.
struct DetachedProcess {
    let pid: pid_t

    /// Starts `arguments` (the first is the executable's path) with exactly `environment`.
    static func start(_ arguments: [String], environment: [String: String], logPath: String) throws(ChildProcess.Failure) -> DetachedProcess {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO)
        let cleaned = flannel_spawn_clean(&attributes, &actions)
        guard cleaned == 0 else { throw ChildProcess.Failure(call: "posix_spawn's attributes", code: cleaned) }
        var flags: Int16 = 0
        posix_spawnattr_getflags(&attributes, &flags)
        posix_spawnattr_setflags(&attributes, flags | 0x80 /* POSIX_SPAWN_SETSID, which Swift does not import */)

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw ChildProcess.Failure(call: "posix_spawn \(arguments[0])", code: spawned) }
        return DetachedProcess(pid: pid)
    }

    /// Nil while it runs; else how it ended (exit status, or 128 + signal), reaped.
    func exitStatus() -> Int32? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == 0 { return nil }
        if result < 0 { return errno == ECHILD ? -1 : nil }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// SIGTERM, then reaped (waits up to `patience` for it, then SIGKILL).
    func terminate(patience: Int = 20) {
        kill(pid, SIGTERM)
        for _ in 0..<patience {
            if exitStatus() != nil { return }
            usleep(50_000)
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }
}
