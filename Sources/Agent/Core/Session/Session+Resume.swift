import AgentProtocol
import Glibc

/// Resumable sessions (docs/protocol.md, "Reconnect and resume"): a session
/// whose connection drops keeps running for the grace period, keeps what it
/// owes the controller, and continues on whichever connection resumes it.
extension Session {
    /// The connection broke or reached EOF: a resumable session waits for
    /// its controller; any other session ends.
    func connectionLost(_ why: End) {
        guard resumable, end == nil else {
            end = end ?? why
            return
        }
        closeConnection()
        out.disconnect()
        graceDeadline = Sys.deadline(Sys.now(), plus: config.graceNs)
        config.onConnection?(false)
    }

    /// Closes the current connection after handling the complete lines it
    /// already delivered (they count as received: a resume reports them).
    func closeConnection() {
        connected = false
        handlePendingLines(limit: .max)
        if inFD >= 0 { shutdown(inFD, Int32(SHUT_RDWR)) }
        if outFD != inFD { Sys.close(&outFD) }
        Sys.close(&inFD)
        outFD = -1
        framer = LineFramer()
        pendingLines.removeAll()
        pendingLineIndex = 0
    }

    /// Ends a resumable session that cannot keep its promise; a resume is told why.
    func drop(_ reason: String) {
        guard end == nil else { return }
        endReason = "the agent dropped it: \(reason); its processes were killed"
        end = .dropped
    }

    /// A hello with `resume`: hands this connection to the session it names.
    func handleResumeHello(_ request: ResumeRequest, window: Int?) {
        guard let table = config.table, config.graceNs > 0 else {
            sendError(id: nil, ProtocolError(.resumeFailed, "this agent does not keep sessions across connections (stdio, or --grace 0)"))
            end = .rejected
            return
        }
        let rest = Array(pendingLines[pendingLineIndex...])
        let handover = Handover(fd: inFD, ack: request.ack, window: window, framer: framer, lines: rest)
        if let refusal = table.handOver(request.session, handover) {
            sendError(id: nil, refusal)
            end = .rejected
            return
        }
        // The descriptor belongs to the resumed session now.
        inFD = -1
        outFD = -1
        connected = false
        pendingLines.removeAll()
        pendingLineIndex = 0
        end = .handedOver
    }

    /// Takes over a connection that resumes this session (on this session's thread).
    func attach(_ handover: Handover) {
        let problem: String? = if end != nil {
            endReason
        } else if handover.ack > out.lastSeq {
            "ack \(handover.ack) is beyond the last sequence number sent, \(out.lastSeq)"
        } else if handover.ack < out.ackedSeq {
            "ack \(handover.ack) is before \(out.ackedSeq), which was acknowledged already and forgotten"
        } else {
            nil
        }
        if let problem {
            return refuse(handover.fd, ProtocolError(.resumeFailed, "session \(sessionID) cannot be resumed: \(problem)"))
        }
        // A controller that comes back supersedes the connection it left,
        // even one this side has not seen break yet (a half-open one).
        let wasWaiting = !connected
        if connected { closeConnection() }
        _ = out.ack(handover.ack)
        out.disconnect()
        inFD = handover.fd
        outFD = handover.fd
        connected = true
        graceDeadline = nil
        if wasWaiting { config.onConnection?(true) }
        framer = handover.framer
        pendingLines = handover.lines
        pendingLineIndex = 0
        if let asked = handover.window, asked > 0 { window = min(asked, 64 * ProtocolConstants.defaultWindow) }
        ignoreThrough = highestRequestID
        send(.hello(AgentHello(
            version: ProtocolConstants.version,
            agent: AgentMain.version,
            session: sessionID,
            pid: getpid(),
            operations: Operation.allCases.map(\.rawValue),
            maxLine: codec.maxLineLength,
            window: window,
            graceMs: Int(config.graceNs / 1_000_000),
            resumed: ResumeInfo(from: handover.ack + 1, received: highestRequestID ?? 0)
        )))
    }

    /// Answers a resume that cannot be served and closes its connection. The
    /// reply belongs to no session, so its `seq` is 0.
    func refuse(_ fd: Int32, _ error: ProtocolError) {
        if let line = try? codec.encodeLine(AgentMessage.reply(Reply(id: nil, seq: 0, outcome: .failure(error)))) {
            _ = line.withUnsafeBytes { Sys.writeAll(fd, $0) }
        }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
