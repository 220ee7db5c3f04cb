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
        let n = exec.stdin.withPending { raw in
            Sys.retrying { Glibc.write(exec.stdinFD, raw.baseAddress, raw.count) }
        }
        if n > 0 {
            for (id, result) in exec.stdin.wrote(n) { replyStdin(id, result) }
            if exec.stdin.wantsClose { Sys.close(&exec.stdinFD) }
            return
        }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
        // The child closed its stdin (EPIPE): what is left is discarded.
        finishStdin(exec)
    }

    /// `exec.stdin`: queues bytes for a process started with `stdinStream`.
    func feedStdin(id: UInt64, _ params: StdinParams) {
        guard let exec = execs[params.target] else {
            return sendError(id: id, ProtocolError(.noSuchRequest, "no running exec with id \(params.target)"))
        }
        guard exec.stdinStreaming else {
            return sendError(id: id, ProtocolError(.invalidField, "exec \(params.target) was not started with stdinStream"))
        }
        guard exec.stdinFD >= 0 else {
            // The process closed its stdin or ended: nothing more goes in.
            return reply(id, .success(.stdin(StdinResult(written: 0, closed: true))))
        }
        guard !exec.stdin.eofRequested else {
            return sendError(id: id, ProtocolError(.invalidField, "stdin of exec \(params.target) was already closed by an earlier eof"))
        }
        do {
            stdinRequests.insert(id)
            for (done, result) in try exec.stdin.append(params.data ?? Data(), eof: params.eof == true, id: id) {
                replyStdin(done, result)
            }
        } catch {
            stdinRequests.remove(id)
            return sendError(id: id, error)
        }
        if exec.stdin.wantsClose { Sys.close(&exec.stdinFD) }
    }

    /// Closes the process's stdin and answers every request still waiting on it.
    func finishStdin(_ exec: RunningExec) {
        Sys.close(&exec.stdinFD)
        for (id, result) in exec.stdin.discard() { replyStdin(id, result) }
    }

    private func replyStdin(_ id: UInt64, _ result: StdinResult) {
        stdinRequests.remove(id)
        reply(id, .success(.stdin(result)))
    }

    func processExited(pid: pid_t, status: Int32) {
        guard let id = execByPID[pid], let exec = execs[id] else { return }
        exec.waitStatus = status
        exec.timeoutAt = nil
        // Grandchildren that keep the pipes open may delay the reply by this much at most.
        exec.drainUntil = Sys.now() + 2_000_000_000
        finishStdin(exec)
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
        finishStdin(exec)
        exec.closeAll()
        execs[exec.id] = nil
        execByPID[exec.pid] = nil
        reply(exec.id, .success(.exec(exec.result(now: Sys.now()))))
    }
}
