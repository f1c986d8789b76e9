import CLinuxShims
import Glibc

/// A long-running child started with posix_spawn in a session of its own (a terminal's ^C
/// to the agent does not reach it), standard input /dev/null, output appended to a log file:
/// wireguard-go, which must outlive an agent restart so that traffic keeps flowing.
struct DetachedProcess {
    let pid: pid_t

    /// Starts `arguments` (the first is the executable's path) with exactly `environment`.
    static func start(_ arguments: [String], environment: [String: String], logPath: String) throws(ChildProcess.Failure) -> DetachedProcess {
        let pid = try ChildProcess.spawn(arguments, environment: environment, flags: 0x80 /* POSIX_SPAWN_SETSID, which Swift does not import */) { actions in
            posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
            posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO)
        }
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
