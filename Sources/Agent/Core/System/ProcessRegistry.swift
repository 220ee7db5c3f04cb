import AgentProtocol
import Glibc
import Synchronization

/// Reaps every child of the agent and routes each exit status to the session
/// that started it.
///
/// SIGCHLD is blocked in every thread (see `installSignalPolicy`) and one
/// thread waits for it with sigwait, so no async-signal-safety games are needed.
final class ProcessRegistry: Sendable {
    static let shared = ProcessRegistry()

    private let owners = Mutex<[pid_t: Mailbox]>([:])

    /// Blocks SIGCHLD (so the reaper can sigwait for it) and ignores SIGPIPE
    /// (a vanished peer shows up as EPIPE instead). Call before any thread starts.
    static func installSignalPolicy() {
        signal(SIGPIPE, SIG_IGN)
        // An inherited SIG_IGN would make the kernel reap children itself and
        // swallow their exit statuses.
        signal(SIGCHLD, SIG_DFL)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGCHLD)
        // SETMASK, not BLOCK: signals a parent left blocked (SIGTERM!) must work here.
        pthread_sigmask(SIG_SETMASK, &set, nil)
    }

    /// Starts the reaper thread and the keeper (`Keeper`), which kills the
    /// process groups still running when the agent dies.
    func startReaper() {
        if !Keeper.start() {
            let line = Array("automation-agent: cannot start the keeper process; if this agent is killed, its processes outlive it\n".utf8)
            _ = line.withUnsafeBytes { Sys.writeAll(2, $0) }
        }
        guard Threads.start({ [self] in reapForever() }) else {
            AgentMain.fail(71, "automation-agent: cannot start the reaper thread")
        }
    }

    /// Runs `spawn` and records its pid atomically, so an exit can never be
    /// reaped before its owner is known.
    func spawn(for mailbox: Mailbox, _ spawn: () -> Result<pid_t, SpawnFailure>) -> Result<pid_t, SpawnFailure> {
        owners.withLock { owners in
            let result = spawn()
            if case .success(let pid) = result {
                owners[pid] = mailbox
                Keeper.watch(pid)
            }
            return result
        }
    }

    /// Sends SIGKILL to the process group of every running child (agent shutdown).
    func killAll() {
        owners.withLock { owners in
            for pid in owners.keys { kill(-pid, SIGKILL) }
        }
    }

    private func reapForever() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGCHLD)
        while true {
            var signal: Int32 = 0
            _ = sigwait(&set, &signal)
            while true {
                var status: Int32 = 0
                let pid = waitpid(-1, &status, WNOHANG)
                if pid <= 0 { break }
                if Keeper.isKeeper(pid) {
                    // Someone killed the keeper: start another, listing what runs now.
                    owners.withLock { owners in Keeper.start(listing: Array(owners.keys)) }
                    continue
                }
                let mailbox = owners.withLock { owners in
                    let mailbox = owners.removeValue(forKey: pid)
                    if mailbox != nil { Keeper.forget(pid) }
                    return mailbox
                }
                mailbox?.post(.exited(pid: pid, status: status))
            }
        }
    }
}

/// Why a process could not be started.
struct SpawnFailure: Error {
    var code: ProtocolError.Code = .spawnFailed
    var message: String
}
