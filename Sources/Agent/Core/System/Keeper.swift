import CAgentSupport
import Glibc
import Synchronization

/// Kills what the agent started when the agent dies, however it dies.
///
/// A SIGKILLed agent runs no code, and PR_SET_PDEATHSIG would reach only
/// each exec's first process (not a shell's background children) and fires
/// when the spawning *thread* ends, not the agent. So a small second process,
/// `automation-agent --keeper` (cmdline `automation-agent-keeper`), holds the
/// read end of a pipe whose only write end is the agent's (close-on-exec, so
/// no child inherits it). The agent writes each exec's process group id when
/// it starts and its negation when the leader is reaped; when the agent is
/// gone the keeper reads EOF and sends SIGKILL to every group still listed,
/// then exits. It lives in a process group of its own and ignores SIGINT,
/// SIGTERM, SIGHUP and SIGQUIT, so a signal to the agent's group or terminal
/// does not take it first. If the keeper itself dies, the reaper starts a
/// new one and lists the running groups again. (docs/reliability.md, "No orphans")
enum Keeper {
    private static let writeEnd = Atomic<Int32>(-1)
    private static let pid = Atomic<Int32>(0)

    /// Whether `child` is the keeper (for the reaper).
    static func isKeeper(_ child: pid_t) -> Bool { child > 0 && pid.load(ordering: .relaxed) == child }

    /// Starts a keeper and lists `groups` with it; false when it could not be started.
    /// Called before any other thread, then only under `ProcessRegistry`'s
    /// lock, as are `watch` and `forget`: no record goes to a closed descriptor.
    @discardableResult
    static func start(listing groups: [pid_t] = []) -> Bool {
        var fds: [Int32] = [-1, -1]
        guard cagent_pipe2_cloexec(&fds) == 0 else { return false }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attr, &noSignals)
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))
        var child: pid_t = 0
        let rc = withCStringArray(["automation-agent-keeper", "--keeper"]) { argv in
            posix_spawn(&child, "/proc/self/exe", &actions, &attr, UnsafeMutablePointer(mutating: argv), environ)
        }
        _ = Glibc.close(fds[0])
        guard rc == 0 else {
            _ = Glibc.close(fds[1])
            return false
        }
        // A keeper that stops reading (SIGSTOP) must never block a spawn: a
        // record that does not fit is dropped (that group goes unguarded).
        Sys.setNonBlocking(fds[1])
        pid.store(child, ordering: .relaxed)
        let old = writeEnd.exchange(fds[1], ordering: .relaxed)
        if old >= 0 { _ = Glibc.close(old) }
        for group in groups { watch(group) }
        return true
    }

    /// The keeper's own loop (`automation-agent --keeper`).
    static func run() -> Never {
        exit(cagent_keeper_main(0))
    }

    /// Guards the process group `group` (a child just started in a group of its own).
    static func watch(_ group: pid_t) { send(group) }

    /// The group's leader was reaped: its id may be reused, stop guarding it.
    static func forget(_ group: pid_t) { send(-group) }

    private static func send(_ value: Int32) {
        let fd = writeEnd.load(ordering: .relaxed)
        guard fd >= 0 else { return }
        var record = value
        // Four bytes to a pipe are written whole or not at all (PIPE_BUF).
        _ = withUnsafeBytes(of: &record) { Sys.writeAll(fd, $0) }
    }
}
