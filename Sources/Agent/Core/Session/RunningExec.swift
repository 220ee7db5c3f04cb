import AgentProtocol
import FoundationEssentials
import Glibc

/// A process started by `exec`, from spawn until its reply is sent.
final class RunningExec {
    let id: UInt64
    let pid: pid_t
    let startedAt: UInt64
    var stdinFD: Int32
    var stdoutFD: Int32
    var stderrFD: Int32
    var stdin = StdinQueue()
    /// Started with `stdinStream`: `exec.stdin` requests may add to stdin.
    let stdinStreaming: Bool
    /// Raw wait status once the process has been reaped.
    var waitStatus: Int32?
    var timeoutAt: UInt64?
    var killAt: UInt64?
    /// After the process exits, how long its pipes may stay open (daemonised grandchildren).
    var drainUntil: UInt64?
    var killGraceNs: UInt64
    var timedOut = false
    var cancelled = false

    init(id: UInt64, process: SpawnedProcess, params: ExecParams, now: UInt64) {
        self.id = id
        pid = process.pid
        startedAt = now
        stdinFD = process.stdin
        stdoutFD = process.stdout
        stderrFD = process.stderr
        stdinStreaming = params.stdinStream == true
        // Validation bounds the inline stdin far below the queue's limit.
        _ = try? stdin.append(params.stdin ?? Data(), eof: !stdinStreaming, id: nil)
        killGraceNs = Sys.nanoseconds(ms: params.killGraceMs ?? 2000)
        if let ms = params.timeoutMs { timeoutAt = Sys.deadline(now, plus: Sys.nanoseconds(ms: ms)) }
        if stdin.wantsClose { Sys.close(&stdinFD) }
    }

    var isFinished: Bool { waitStatus != nil && stdoutFD < 0 && stderrFD < 0 }

    /// Signals the whole process group; escalates to SIGKILL after the grace period.
    func signalGroup(_ signal: Int32, now: UInt64) {
        kill(-pid, signal)
        if signal != SIGKILL && killAt == nil { killAt = Sys.deadline(now, plus: killGraceNs) }
    }

    func closeAll() {
        Sys.close(&stdinFD)
        Sys.close(&stdoutFD)
        Sys.close(&stderrFD)
    }

    func result(now: UInt64) -> ExecResult {
        let status = waitStatus ?? 0
        let termSignal = status & 0x7f
        return ExecResult(
            exitCode: termSignal == 0 ? (status >> 8) & 0xff : nil,
            signal: termSignal == 0 ? nil : termSignal,
            timedOut: timedOut,
            cancelled: cancelled,
            durationUs: Int64((now &- startedAt) / 1000)
        )
    }
}
