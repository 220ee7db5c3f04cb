import AgentProtocol
import Foundation
import Synchronization

/// The exec a slot is running right now, so an interrupt can cancel it and
/// the controller can enforce `--timeout` itself when the agent does not.
final class SlotExec: Sendable {
    private struct State {
        var call: ExecCall?
        var lastProgress = ContinuousClock.now
        var endedByController = false
        var cancelSent = false
    }

    private let state = Mutex(State())

    /// Starts `params` on `client` as the slot's current exec.
    func start(_ client: AgentClient, _ params: ExecParams) throws -> ExecCall {
        let call = try client.exec(params)
        state.withLock { s in
            s.call = call
            s.lastProgress = .now
            s.endedByController = false
            s.cancelSent = false
        }
        return call
    }

    /// A result arrived: the exec is alive and making progress.
    func progressed() {
        state.withLock { $0.lastProgress = .now }
    }

    /// True when the controller ended the current exec for running past its time limit.
    var endedByController: Bool { state.withLock { $0.endedByController } }

    /// Cancels the current exec (SIGTERM, then SIGKILL after the grace); false when there was none to cancel.
    @discardableResult
    func cancel(becauseOfTimeout: Bool = false) -> Bool {
        let call: ExecCall? = state.withLock { s in
            guard let call = s.call, !s.cancelSent else { return nil }
            s.cancelSent = true
            if becauseOfTimeout { s.endedByController = true }
            return call
        }
        guard let call else { return false }
        Task { _ = try? await Deadline.race(seconds: 10) { try await call.cancel() } }
        return true
    }

    /// Ends the current exec when nothing came from it for `limit` seconds; true when it did so.
    func enforce(limit: Double) -> Bool {
        let overdue = state.withLock { s -> Bool in
            guard s.call != nil, !s.cancelSent else { return false }
            let quiet = ContinuousClock.now - s.lastProgress
            return Double(quiet.components.seconds) + Double(quiet.components.attoseconds) / 1e18 > limit
        }
        return overdue && cancel(becauseOfTimeout: true)
    }

    /// The exec ended.
    func finished() {
        state.withLock { $0.call = nil }
    }
}
