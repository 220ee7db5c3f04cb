import AgentProtocol
import Glibc

/// Entry point of `automation-agent`.
public enum AgentMain {
    public static let version = "0.1.0"

    static let usage = """
        usage: automation-agent --stdio
               automation-agent serve [--listen HOST:PORT] [--idle-timeout SECONDS] [--detach]
                                      [--grace SECONDS] [--replay-memory BYTES]
                                      [--spill-dir DIR] [--spill-limit BYTES]
                                      [--poweroff-when-idle] [--log FILE]
               automation-agent --version

          --stdio                 serve one session on stdin/stdout
          serve                   listen on a loopback TCP port; print one JSON line
                                  {"port":N,"token":"…","pid":N,"version":N} and serve
                                  every session that presents the token
          --listen HOST:PORT      address to bind (default 127.0.0.1:0, loopback only)
          --idle-timeout SECONDS  exit after this long with no connected session, counted
                                  from the last connection (default 1800, 0 = never)
          --detach                after printing the JSON line, leave the caller's
                                  session and close stdout/stderr
          --grace SECONDS         keep a resumable session this long after its
                                  connection drops (default 60, 0 = never; at most 86400)
          --replay-memory BYTES   unacknowledged output a session keeps in memory
                                  (default 8388608; 65536 to 1073741824)
          --spill-dir DIR         private directory for the rest (default
                                  ~/.cache/automation/spill)
          --spill-limit BYTES     bound on one session's spill file; its processes'
                                  output pauses there (default 1073741824;
                                  1048576 to 1099511627776)
          --poweroff-when-idle    when the idle timeout fires, power the machine off
                                  (as root, else with sudo -n) instead of just exiting;
                                  for machines that exist only for this agent (EC2
                                  instances that terminate on shutdown)
          --log FILE              with --detach: append stderr (what the agent did when
                                  idle) to FILE instead of discarding it
        """

    public static func run(_ arguments: [String]) -> Never {
        var args = Array(arguments.dropFirst())
        if args.isEmpty || args == ["--help"] || args == ["-h"] {
            fail(args.isEmpty ? 64 : 0, usage)
        }
        if args == ["--keeper"] { Keeper.run() }
        if args == ["--version"] {
            fail(0, "automation-agent \(version) (protocol \(ProtocolConstants.version))")
        }
        ProcessRegistry.installSignalPolicy()
        markInheritedDescriptorsCloseOnExec()
        raiseDescriptorLimit()
        if args == ["--stdio"] {
            runStdio()
        }
        guard args.removeFirst() == "serve" else { fail(64, usage) }
        var options = Listener.Options()
        while let flag = args.first {
            args.removeFirst()
            switch flag {
            case "--listen":
                guard let value = args.first, let endpoint = Listener.Endpoint(value) else {
                    fail(64, "automation-agent: --listen needs HOST:PORT with a loopback host (127.0.0.1 or ::1)")
                }
                args.removeFirst()
                options.endpoint = endpoint
            case "--idle-timeout":
                guard let value = args.first, let seconds = Double(value), seconds >= 0, seconds <= 31_536_000 else {
                    fail(64, "automation-agent: --idle-timeout needs a number of seconds from 0 to 31536000 (365 days)")
                }
                args.removeFirst()
                options.idleTimeout = seconds
            case "--detach":
                options.detach = true
            case "--grace":
                options.grace = Double(number(&args, flag, 0...86_400, "seconds"))
            case "--replay-memory":
                options.replayMemory = Int(number(&args, flag, 65_536...1 << 30, "bytes"))
            case "--spill-limit":
                options.spillLimit = number(&args, flag, 1 << 20...1 << 40, "bytes")
            case "--spill-dir":
                guard let value = args.first, value.hasPrefix("/") else {
                    fail(64, "automation-agent: --spill-dir needs an absolute path")
                }
                args.removeFirst()
                options.spillDirectory = value
            case "--poweroff-when-idle":
                options.powerOffWhenIdle = true
            case "--log":
                guard let value = args.first, !value.isEmpty else { fail(64, "automation-agent: --log needs a file name") }
                args.removeFirst()
                let fd = open(value, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
                guard fd >= 0 else { fail(71, "automation-agent: --log \(value): \(Sys.errorString(errno))") }
                options.logDescriptor = fd
            default:
                fail(64, "automation-agent: unknown option \(flag)\n\(usage)")
            }
        }
        if options.powerOffWhenIdle && options.idleTimeout == 0 {
            fail(64, "automation-agent: --poweroff-when-idle needs an --idle-timeout above 0")
        }
        Listener.run(options)
    }

    /// The whole-number value of `flag`, within `range`, or exit 64 saying so.
    private static func number(_ args: inout [String], _ flag: String, _ range: ClosedRange<Int64>, _ unit: String) -> Int64 {
        guard let value = args.first, let n = Int64(value), range.contains(n) else {
            fail(64, "automation-agent: \(flag) needs a whole number of \(unit) from \(range.lowerBound) to \(range.upperBound)")
        }
        args.removeFirst()
        return n
    }

    private static func runStdio() -> Never {
        // The protocol moves to private descriptors; 0 and 1 point at /dev/null so
        // that nothing printed by accident can corrupt the stream.
        let input = fcntl(0, F_DUPFD_CLOEXEC, 3)
        let output = fcntl(1, F_DUPFD_CLOEXEC, 3)
        guard input >= 0, output >= 0 else { fail(71, "automation-agent: cannot set up stdio: \(Sys.errorString(errno))") }
        let null = open("/dev/null", O_RDWR)
        if null >= 0 {
            dup2(null, 0)
            dup2(null, 1)
            if null > 2 { close(null) }
        }
        ProcessRegistry.shared.startReaper()
        guard let session = Session(input: input, output: output, config: .init(requiredToken: nil)) else {
            fail(71, "automation-agent: cannot create a pipe: \(Sys.errorString(errno))")
        }
        let end = session.run()
        if end == .shutdown { ProcessRegistry.shared.killAll() }
        exit(0)
    }

    /// Whatever the agent's parent left open must not reach the processes it
    /// runs. They stay open in the agent itself: a parent using Foundation's
    /// `Process` watches a socket it passed down and would take its closing
    /// for the agent's exit.
    private static func markInheritedDescriptorsCloseOnExec() {
        guard let dir = opendir("/proc/self/fd") else { return }
        let own = dirfd(dir)
        var fds: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if let fd = Int32(name), fd > 2, fd != own { fds.append(fd) }
        }
        closedir(dir)
        for fd in fds { Sys.setCloseOnExec(fd) }
    }

    /// Every exec holds two or three pipe ends: use the hard descriptor limit
    /// (up to 65,536), not the often-1,024 soft one. Failure leaves it as is.
    private static func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let wanted = min(limit.rlim_max, 65_536)
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }

    static func fail(_ code: Int32, _ message: String) -> Never {
        let line = Array((message + "\n").utf8)
        _ = line.withUnsafeBytes { Sys.writeAll(code == 0 ? 1 : 2, $0) }
        exit(code)
    }
}
