import FoundationEssentials

/// Runs a program. `argv[0]` is looked up in the child's PATH unless it holds a slash.
public struct ExecParams: Codable, Sendable, Equatable {
    public var argv: [String]
    /// Variables added to (or, with `clearEnv`, replacing) the agent's environment.
    public var env: [String: String]?
    public var clearEnv: Bool?
    /// Variables removed from the inherited environment.
    public var unsetEnv: [String]?
    /// Absolute working directory; the agent's own if absent.
    public var cwd: String?
    /// Bytes written to the child's stdin, which is then closed (empty stdin if absent).
    public var stdin: Data?
    /// Wall-clock limit; on expiry the process group gets SIGTERM, then SIGKILL after `killGraceMs`.
    public var timeoutMs: Int?
    public var killGraceMs: Int?
    /// Keep stdin open after `stdin` for `exec.stdin` requests (any size, flow-controlled).
    public var stdinStream: Bool?

    public init(argv: [String], env: [String: String]? = nil, clearEnv: Bool? = nil, unsetEnv: [String]? = nil,
                cwd: String? = nil, stdin: Data? = nil, timeoutMs: Int? = nil, killGraceMs: Int? = nil, stdinStream: Bool? = nil) {
        self.argv = argv
        self.env = env
        self.clearEnv = clearEnv
        self.unsetEnv = unsetEnv
        self.cwd = cwd
        self.stdin = stdin
        self.timeoutMs = timeoutMs
        self.killGraceMs = killGraceMs
        self.stdinStream = stdinStream
    }
}

/// How a process ended.
public struct ExecResult: Codable, Sendable, Equatable {
    /// Exit status, when the process exited.
    public var exitCode: Int32?
    /// Terminating signal number, when a signal ended it.
    public var signal: Int32?
    public var timedOut: Bool
    public var cancelled: Bool
    public var durationUs: Int64

    public init(exitCode: Int32?, signal: Int32?, timedOut: Bool = false, cancelled: Bool = false, durationUs: Int64) {
        self.exitCode = exitCode
        self.signal = signal
        self.timedOut = timedOut
        self.cancelled = cancelled
        self.durationUs = durationUs
    }

    /// The status a shell would report: the exit code, or 128 + the signal.
    /// A signal number outside 0...127 (from a broken or hostile agent) gives 255, never an overflow.
    public var shellStatus: Int32 {
        if let exitCode { return exitCode }
        guard let signal else { return 128 }
        return (0...127).contains(signal) ? 128 + signal : 255
    }
}

/// Stops a running exec: its whole process group gets `signal` (default SIGTERM),
/// then SIGKILL after `killGraceMs` if it is still there.
public struct CancelParams: Codable, Sendable, Equatable {
    public var target: UInt64
    public var signal: Int32?
    public var killGraceMs: Int?

    public init(target: UInt64, signal: Int32? = nil, killGraceMs: Int? = nil) {
        self.target = target
        self.signal = signal
        self.killGraceMs = killGraceMs
    }
}

public struct CancelResult: Codable, Sendable, Equatable {
    public var pid: Int32
    public init(pid: Int32) { self.pid = pid }
}

public struct PongResult: Codable, Sendable, Equatable {
    /// The agent's monotonic clock, in nanoseconds.
    public var monotonicNs: UInt64
    public init(monotonicNs: UInt64) { self.monotonicNs = monotonicNs }
}

public struct StartedEvent: Codable, Sendable, Equatable {
    public var pid: Int32
    public init(pid: Int32) { self.pid = pid }
}

/// One chunk of process output, in the order the process wrote it to that stream.
public struct OutputEvent: Codable, Sendable, Equatable {
    public enum Stream: String, Codable, Sendable {
        case stdout, stderr
    }

    public var stream: Stream
    public var data: Data

    public init(stream: Stream, data: Data) {
        self.stream = stream
        self.data = data
    }
}
