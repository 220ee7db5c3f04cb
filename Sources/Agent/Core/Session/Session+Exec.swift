import AgentProtocol
import FoundationEssentials
import Glibc

extension Session {
    /// Processes one session may run at once: each holds two or three
    /// descriptors, and one careless or hostile client must not take them all.
    static let maxRunningExecs = 2048

    func startExec(id: UInt64, _ params: ExecParams) {
        guard execs.count < Self.maxRunningExecs else {
            return sendError(id: id, ProtocolError(.spawnFailed,
                "this session already runs \(execs.count) processes, the per-session limit; wait for some to finish"))
        }
        switch Spawner.spawn(params, registry: registry, mailbox: mailbox) {
        case .failure(let failure):
            sendError(id: id, ProtocolError(failure.code, failure.message))
        case .success(let process):
            let exec = RunningExec(id: id, process: process, params: params, now: Sys.now())
            execs[id] = exec
            execByPID[process.pid] = id
        }
    }

    func cancelExec(id: UInt64, _ params: CancelParams) {
        guard let exec = execs[params.target] else {
            return sendError(id: id, ProtocolError(.noSuchRequest, "no running exec with id \(params.target)"))
        }
        exec.cancelled = true
        if let grace = params.killGraceMs { exec.killGraceNs = Sys.nanoseconds(ms: grace) }
        exec.signalGroup(params.signal ?? SIGTERM, now: Sys.now())
        reply(id, .success(.cancel(CancelResult(pid: exec.pid))))
    }

    func readOutput(_ exec: RunningExec, stream: OutputEvent.Stream) {
        let fd = stream == .stdout ? exec.stdoutFD : exec.stderrFD
        let n = readBuffer.withUnsafeMutableBytes { raw in Sys.retrying { Glibc.read(fd, raw.baseAddress, raw.count) } }
        if n > 0 {
            let data = Data(readBuffer[0..<n])
            send(.event(Event(id: exec.id, seq: out.nextSeq(), body: .output(OutputEvent(stream: stream, data: data)))))
            return
        }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
        if stream == .stdout { Sys.close(&exec.stdoutFD) } else { Sys.close(&exec.stderrFD) }
        completeIfDone(exec)
    }

    func writeStdin(_ exec: RunningExec) {
        let remaining = exec.stdinData.count - exec.stdinOffset
        let n = exec.stdinData.withUnsafeBytes { raw in
            Sys.retrying { Glibc.write(exec.stdinFD, raw.baseAddress! + exec.stdinOffset, remaining) }
        }
        if n > 0 { exec.stdinOffset += n }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
        if n < 0 || exec.stdinOffset == exec.stdinData.count {
            // Done, or the child closed its stdin (EPIPE): either way it gets EOF.
            Sys.close(&exec.stdinFD)
            exec.stdinData = []
        }
    }

    func processExited(pid: pid_t, status: Int32) {
        guard let id = execByPID[pid], let exec = execs[id] else { return }
        exec.waitStatus = status
        exec.timeoutAt = nil
        // Grandchildren that keep the pipes open may delay the reply by this much at most.
        exec.drainUntil = Sys.now() + 2_000_000_000
        Sys.close(&exec.stdinFD)
        completeIfDone(exec)
    }

    func fireTimers(_ exec: RunningExec, now: UInt64) {
        if let t = exec.timeoutAt, now >= t {
            exec.timeoutAt = nil
            exec.timedOut = true
            exec.signalGroup(SIGTERM, now: now)
        }
        if let t = exec.killAt, now >= t {
            exec.killAt = nil
            kill(-exec.pid, SIGKILL)
        }
        if let t = exec.drainUntil, now >= t {
            if !outputOpen {
                // Output is waiting for the controller, not for a stray grandchild.
                exec.drainUntil = now + 100_000_000
                return
            }
            exec.drainUntil = nil
            Sys.close(&exec.stdoutFD)
            Sys.close(&exec.stderrFD)
            completeIfDone(exec)
        }
    }

    private func completeIfDone(_ exec: RunningExec) {
        guard exec.isFinished else { return }
        if exec.cancelled || exec.timedOut {
            // Whatever the group left behind goes too.
            kill(-exec.pid, SIGKILL)
        }
        exec.closeAll()
        execs[exec.id] = nil
        execByPID[exec.pid] = nil
        reply(exec.id, .success(.exec(exec.result(now: Sys.now()))))
    }
}
