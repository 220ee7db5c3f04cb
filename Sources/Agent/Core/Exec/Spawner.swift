import AgentProtocol
import CAgentSupport
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
        let env = environment(for: params)
        guard let program = resolve(params.argv[0], env: env, cwd: params.cwd) else {
            return .failure(SpawnFailure(code: .commandNotFound, message: "\(params.argv[0]): command not found"))
        }
        if let cwd = params.cwd {
            var st = stat()
            if stat(cwd, &st) != 0 || (st.st_mode & S_IFMT) != S_IFDIR {
                return .failure(SpawnFailure(message: "cwd \(cwd): \(Sys.errorString(errno == 0 ? ENOTDIR : errno))"))
            }
        }

        var stdinPipe: [Int32] = [-1, -1], stdoutPipe: [Int32] = [-1, -1], stderrPipe: [Int32] = [-1, -1]
        guard cagent_pipe2_cloexec(&stdinPipe) == 0 else { return .failure(SpawnFailure(message: "pipe: \(Sys.errorString(errno))")) }
        guard cagent_pipe2_cloexec(&stdoutPipe) == 0 else {
            closeAll(stdinPipe)
            return .failure(SpawnFailure(message: "pipe: \(Sys.errorString(errno))"))
        }
        guard cagent_pipe2_cloexec(&stderrPipe) == 0 else {
            closeAll(stdinPipe + stdoutPipe)
            return .failure(SpawnFailure(message: "pipe: \(Sys.errorString(errno))"))
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on the target; every other agent descriptor has it set.
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
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
        Glibc.close(stdinPipe[0])
        Glibc.close(stdoutPipe[1])
        Glibc.close(stderrPipe[1])
        switch result {
        case .failure(let failure):
            closeAll([stdinPipe[1], stdoutPipe[0], stderrPipe[0]])
            return .failure(failure)
        case .success(let pid):
            for fd in [stdinPipe[1], stdoutPipe[0], stderrPipe[0]] { Sys.setNonBlocking(fd) }
            return .success(SpawnedProcess(pid: pid, stdin: stdinPipe[1], stdout: stdoutPipe[0], stderr: stderrPipe[0]))
        }
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

    private static func closeAll(_ fds: [Int32]) {
        for fd in fds where fd >= 0 { Glibc.close(fd) }
    }
}
