import AgentProtocol
import Foundation
import Logging

/// Riding out a dropped connection (docs/protocol.md, "Reconnect and
/// resume"): a new transport to the same agent, a hello that resumes the
/// session from the last sequence number received, the unanswered requests
/// the agent never saw sent again. Calls in flight wait; they fail only when
/// the session cannot be resumed within the bound.
extension AgentClient {
    /// A transport reported an undecodable line: the session cannot go on.
    func violation(generation: UInt64, _ error: AgentClientError) {
        guard state.withLock({ $0.generation == generation }) else { return }
        fail(error)
    }

    /// The transport of `generation` ended or failed a write.
    func connectionBroke(generation: UInt64, _ error: AgentClientError) {
        enum Next { case ignore, fail, resume(any AgentTransport), handshake(CheckedContinuation<AgentHello, any Error>) }
        let resumable = isResumable
        let next: Next = state.withLock { state in
            guard generation == state.generation, state.closed == nil else { return .ignore }
            if let handshake = state.handshake {
                // A hello exchange was under way on it: its waiter decides what next.
                state.handshake = nil
                return .handshake(handshake)
            }
            if state.reconnecting { return .ignore }
            guard !state.closing, resumable else { return .fail }
            state.reconnecting = true
            state.generation += 1
            return .resume(state.transport)
        }
        switch next {
        case .ignore: return
        case .fail: fail(error)
        case .handshake(let waiter):
            var refused = AgentClientError(.transport, "the agent closed the connection before its hello (\(error.message))")
            refused.closedBeforeHello = true
            waiter.resume(throwing: refused)
        case .resume(let old):
            old.close()
            logger.info("agent.connection.lost", metadata: ["agent.target": "\(reconnector!.label)", "error": "\(error.message)"])
            Task { await resume(after: error) }
        }
    }

    /// Refusals of a resume that another attempt would get again.
    static let finalRefusals: Set<ProtocolError.Code> = [.unknownSession, .resumeFailed, .authFailed, .versionMismatch]

    private static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// Tries again with backoff until the session is resumed, cannot be, or
    /// the bound (the reconnector's, and the agent's grace period) has passed.
    private func resume(after cause: AgentClientError) async {
        guard let reconnector else { return }
        let first = agentHello
        let grace = Double(first.graceMs ?? 0) / 1000
        // The agent ends the session at its grace period: stop trying a little before.
        let bound = min(reconnector.within, max(grace - 1, 0))
        let start = ContinuousClock.now
        var attempt = 0
        var last = cause.message
        while state.withLock({ !$0.closing && $0.closed == nil }) {
            let elapsed = Self.seconds(since: start)
            if elapsed >= bound { break }
            attempt += 1
            if attempt > 1 {
                let pause = min(AgentReconnector.backoff(attempt: attempt - 1), bound - elapsed)
                try? await Task.sleep(for: .milliseconds(Int64(pause * 1000)))
                if Self.seconds(since: start) >= bound { break }
            }
            do {
                let remaining = bound - Self.seconds(since: start)
                guard let transport = try await Deadline.race(seconds: remaining, { try await reconnector.open() }) else { break }
                let taken: (UInt64, UInt64)? = state.withLock { state in
                    guard !state.closing, state.closed == nil else { return nil }
                    state.generation += 1
                    state.transport = transport
                    return (state.generation, state.receivedSeq)
                }
                guard let (generation, ack) = taken else {
                    transport.close()
                    return
                }
                let hello = ControllerHello(token: reconnector.token, client: "automation \(AutomationVersion.current)",
                                            resumable: true, resume: ResumeRequest(session: first.session, ack: ack))
                let answer = try await Deadline.race(seconds: max(1, bound - Self.seconds(since: start))) {
                    try await self.handshake(on: transport, generation: generation, hello: hello)
                }
                guard let answer else {
                    last = "the agent did not answer the resume"
                    transport.close()
                    continue
                }
                guard answer.session == first.session, let resumed = answer.resumed else {
                    return fail(AgentClientError(.transport, "\(reconnector.label): the agent answered the resume with another session"))
                }
                finishResume(answer, resumed, generation: generation)
                let took = Self.seconds(since: start)
                logger.info("agent.connection.resumed", metadata: [
                    "agent.target": "\(reconnector.label)", "agent.resume.seconds": "\(took)", "agent.resume.attempts": "\(attempt)",
                ])
                reconnector.onReconnect?(reconnector.label, took)
                return
            } catch let gone as AgentReconnector.Gone {
                return fail(AgentClientError(.transport, "\(reconnector.label): connection lost (\(cause.message)) and the session is gone: \(gone)"))
            } catch let error as AgentClientError where error.kind == .handshake && Self.finalRefusals.contains(error.remote?.code ?? .internalError) {
                // Asking again gets the same answer. (hello_required, the agent's 10 s
                // hello deadline passed on a starved controller, is worth another try.)
                return fail(AgentClientError(.transport, "\(reconnector.label): connection lost (\(cause.message)) and the session could not be resumed: \(error.message)",
                                             remote: error.remote))
            } catch {
                last = "\(error)"
                logger.debug("agent.resume.attempt-failed", metadata: ["agent.target": "\(reconnector.label)", "error": "\(error)"])
            }
        }
        fail(AgentClientError(.transport, String(format: "%@: connection lost (%@) and not re-established within %.0f s: %@",
                                                 reconnector.label, cause.message, bound, last)))
    }

    /// The session is back: requests the agent never read go again, in
    /// order and before anything newer, then an ack of everything received
    /// (the replay may already have come in, and acks due meanwhile were not
    /// sent: without this one a replay larger than the window would keep the
    /// agent's window shut), then sending resumes.
    private func finishResume(_ answer: AgentHello, _ resumed: ResumeInfo, generation: UInt64) {
        hello.withLock { $0 = answer }
        state.withLock { state in
            guard state.generation == generation, state.closed == nil else { return }
            state.window = answer.window
            let transport = state.transport
            var lines = state.unanswered.filter({ $0.key > resumed.received }).sorted(by: { $0.key < $1.key }).map(\.value)
            if state.receivedSeq > 0, let ack = try? encoder.withLock({ try $0.encodeLine(ControllerMessage.ack(seq: state.receivedSeq)) }) {
                lines.append(ack)
                state.bytesSinceAck = 0
            }
            for line in lines {
                outbox.async { [self] in
                    do {
                        try transport.send(line)
                    } catch {
                        connectionBroke(generation: generation, AgentClientError(.transport, "\(error)"))
                    }
                }
            }
            state.reconnecting = false
        }
    }
}
