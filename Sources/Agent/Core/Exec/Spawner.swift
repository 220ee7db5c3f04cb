import AgentProtocol
import CAgentSupport
import Descriptors
import Glibc

/// A started child: its pid (also its process group id) and the parent's pipe ends.
struct SpawnedProcess {
    var pid: pid_t
    var stdin: Int32
    var stdout: Int32
    var stderr: Int32
}

/// Starts processes with posix_spawn (vfork-fast, no Foundation), each in a
/// process group of its own so that cancel reaches its grandchildren.
enum Spawner {
    /// The agent's environment at start-up, the base for every child's.
    nonisolated(unsafe) static var baseEnvironment: [String] = {
        var result: [String] = []
        var p = environ
        while let entry = p.pointee {
            result.append(String(cString: entry))
            p += 1
        }
        return result
    }()

    static func spawn(_ params: ExecParams, registry: ProcessRegistry, mailbox: Mailbox) -> Result<SpawnedProcess, SpawnFailure> {
        do {
            return .success(try spawnOrThrow(params, registry: registry, mailbox: mailbox))
        } catch {
            return .failure(error)
        }
    }

    private static func pipe() throws(SpawnFailure) -> PipeEnds {
        do {
            return try FileDescriptor.pipe()
        } catch {
            throw SpawnFailure(message: "cannot create a pipe: \(Sys.errorString(error.code)) (the agent is out of descriptors; wait for running processes to finish)")
        }
    }

    /// Every pipe end is owned by a `FileDescriptor`: the child's ends close
    /// when this returns (or throws), the parent's are handed to the session.
    private static func spawnOrThrow(_ params: ExecParams, registry: ProcessRegistry, mailbox: Mailbox) throws(SpawnFailure) -> SpawnedProcess {
        let env = environment(for: params)
        guard let program = resolve(params.argv[0], env: env, cwd: params.cwd) else {
            throw SpawnFailure(code: .commandNotFound, message: "\(params.argv[0]): command not found")
        }
        if let cwd = params.cwd {
            var st = stat()
            if stat(cwd, &st) != 0 || (st.st_mode & S_IFMT) != S_IFDIR {
                throw SpawnFailure(message: "cwd \(cwd): \(Sys.errorString(errno == 0 ? ENOTDIR : errno))")
            }
        }

        let stdinPipe = try pipe()
        let stdoutPipe = try pipe()
        let stderrPipe = try pipe()

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on the target; every other agent descriptor has it set.
        posix_spawn_file_actions_adddup2(&actions, stdinPipe.read.rawValue, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe.write.rawValue, 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe.write.rawValue, 2)
        if let cwd = params.cwd { cagent_spawn_file_actions_addchdir(&actions, cwd) }

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attr, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGPIPE, SIGCHLD, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM] {
            sigaddset(&defaults, sig)
        }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let result = registry.spawn(for: mailbox) {
            var pid: pid_t = 0
            let rc = withCStringArray(params.argv) { argv in
                withCStringArray(env) { envp in
                    posix_spawn(&pid, program, &actions, &attr,
                                UnsafeMutablePointer(mutating: argv), UnsafeMutablePointer(mutating: envp))
                }
            }
            if rc != 0 { return .failure(SpawnFailure(message: "\(program): \(Sys.errorString(rc))")) }
            return .success(pid)
        }
        // The child's ends close in the agent at once.
        stdinPipe.read.closeQuietly()
        stdoutPipe.write.closeQuietly()
        stderrPipe.write.closeQuietly()
        let pid = try result.get()
        stdinPipe.write.setNonBlocking()
        stdoutPipe.read.setNonBlocking()
        stderrPipe.read.setNonBlocking()
        // The session owns the parent's ends from here (RunningExec closes each once).
        return SpawnedProcess(pid: pid, stdin: stdinPipe.write.release(), stdout: stdoutPipe.read.release(), stderr: stderrPipe.read.release())
    }

    /// The child's environment: inherited or cleared, minus `unsetEnv`, plus `env`.
    static func environment(for params: ExecParams) -> [String] {
        var result = params.clearEnv == true ? [] : baseEnvironment
        var drop = Set(params.unsetEnv ?? [])
        if let env = params.env { drop.formUnion(env.keys) }
        if !drop.isEmpty {
            result.removeAll { entry in
                let name = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? entry
                return drop.contains(name)
            }
        }
        for (key, value) in (params.env ?? [:]).sorted(by: { $0.key < $1.key }) {
            result.append("\(key)=\(value)")
        }
        return result
    }

    /// Finds the program like execvp, but in the child's PATH, not the agent's.
    static func resolve(_ name: String, env: [String], cwd: String?) -> String? {
        if name.contains("/") { return name }
        let path = env.last(where: { $0.hasPrefix("PATH=") }).map { String($0.dropFirst(5)) }
            ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":", omittingEmptySubsequences: false) {
            var base = dir.isEmpty ? "." : String(dir)
            if base.first != "/", let cwd { base = cwd + "/" + base }
            let candidate = base + "/" + name
            var st = stat()
            if stat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        return nil
    }

}
