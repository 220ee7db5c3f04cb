import Glibc

/// `serve --poweroff-when-idle`: on a machine that exists only for the agent
/// (an EC2 instance launched with shutdown behaviour `terminate`), the idle
/// timeout powers the machine off instead of just ending the agent, so a
/// controller that vanished leaves nothing running.
///
/// As root the agent runs `poweroff`, then `systemctl poweroff`, then
/// `shutdown -h now`; as any other user the same commands through `sudo -n`
/// (never a password prompt, and never without sudo: an unprivileged
/// `systemctl poweroff` could pass a desktop's logind policy). The first one
/// that exits 0 wins. Each attempt and its outcome goes to stderr (the `--log`
/// file when detached). When none works the agent says so and exits anyway.
enum PowerOff {
    /// Exit status of an agent that could not power the machine off.
    static let failureStatus: Int32 = 70
    /// Longest wait for one command; `poweroff` returns at once on systemd, and a
    /// machine that is really going down ends the agent before this matters.
    static let commandTimeoutMs: Int32 = 60_000
    /// Searched after the agent's own PATH: an SSH session's PATH often lacks the sbin directories.
    static let systemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The commands to try, in order, for a root or an unprivileged agent.
    static func attempts(asRoot: Bool) -> [[String]] {
        let commands = [["poweroff"], ["systemctl", "poweroff"], ["shutdown", "-h", "now"]]
        return asRoot ? commands : commands.map { ["sudo", "-n"] + $0 }
    }

    /// Powers the machine off (the listener's idle timeout fired) and ends the agent.
    static func run(idleSeconds: Double) -> Never {
        log("no controller for \(formatted(idleSeconds)) s: powering the machine off (--poweroff-when-idle)")
        var failures: [String] = []
        for argv in attempts(asRoot: geteuid() == 0) {
            let shown = argv.joined(separator: " ")
            if let failure = runOnce(argv) {
                log("`\(shown)` \(failure)")
                failures.append("`\(shown)` \(failure)")
            } else {
                log("`\(shown)` succeeded: the machine is going down")
                exit(0)
            }
        }
        log("""
            could not power the machine off (tried \(failures.joined(separator: "; "))); \
            exiting without powering off: run the agent as root or give its user passwordless sudo
            """)
        exit(failureStatus)
    }

    /// Runs one command with stdin from /dev/null and its output on the agent's
    /// stderr; nil when it exits 0, else what went wrong.
    private static func runOnce(_ argv: [String]) -> String? {
        let agentPath = Spawner.baseEnvironment.last(where: { $0.hasPrefix("PATH=") }).map { String($0.dropFirst(5)) }
        let searchPath = [agentPath, systemPath].compactMap { $0 }.joined(separator: ":")
        guard let program = Spawner.resolve(argv[0], env: ["PATH=\(searchPath)"], cwd: nil) else {
            return "was not run: \(argv[0]) is not installed (searched \(searchPath))"
        }
        guard let mailbox = Mailbox() else { return "was not run: cannot create a pipe: \(Sys.errorString(errno))" }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, 2, 1)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // The agent blocks SIGCHLD and ignores SIGPIPE; the command gets neither.
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attr, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigaddset(&defaults, SIGCHLD)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let spawned = ProcessRegistry.shared.spawn(for: mailbox) {
            var pid: pid_t = 0
            let rc = withCStringArray(argv) { args in
                withCStringArray(Spawner.baseEnvironment) { envp in
                    posix_spawn(&pid, program, &actions, &attr, UnsafeMutablePointer(mutating: args), UnsafeMutablePointer(mutating: envp))
                }
            }
            return rc == 0 ? .success(pid) : .failure(SpawnFailure(message: Sys.errorString(rc)))
        }
        let pid: pid_t
        switch spawned {
        case .success(let started): pid = started
        case .failure(let failure): return "could not be started: \(program): \(failure.message)"
        }
        // The reaper thread collects the exit and posts it here.
        let deadline = Sys.now() + UInt64(commandTimeoutMs) * 1_000_000
        while true {
            for case .exited(let exited, let status) in mailbox.drain() where exited == pid {
                let signal = status & 0x7f
                if signal != 0 { return "was killed by signal \(signal)" }
                let code = (status >> 8) & 0xff
                return code == 0 ? nil : "exited with status \(code)"
            }
            let now = Sys.now()
            if now >= deadline {
                kill(pid, SIGKILL)
                return "did not finish within \(commandTimeoutMs / 1000) s"
            }
            var pfd = pollfd(fd: mailbox.wakeFD, events: Int16(POLLIN), revents: 0)
            _ = Glibc.poll(&pfd, 1, Int32(min(UInt64(1000), (deadline - now) / 1_000_000 + 1)))
        }
    }

    private static func formatted(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }

    /// One line on stderr, with the UTC time: the log of a detached agent.
    private static func log(_ message: String) {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        let stamp = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let line = Array("\(stamp) automation-agent[\(getpid())]: \(message)\n".utf8)
        _ = line.withUnsafeBytes { Sys.writeAll(2, $0) }
    }
}
