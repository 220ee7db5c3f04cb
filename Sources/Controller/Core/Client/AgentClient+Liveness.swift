import AgentProtocol
import Foundation

/// Declaring a peer dead without its help: a stopped agent or sshd, or a
/// half-open connection, never answers and never closes.
extension AgentClient {
    /// Fails every call in flight at once with `reason` and closes the
    /// transport, without waiting for the peer to confirm anything.
    public func abandon(_ reason: String) {
        fail(AgentClientError(.transport, reason))
    }

    /// One ping that must be answered within `seconds`: the round trip in
    /// seconds, or nil when it was not (the peer is then presumed stopped or
    /// unreachable; the caller decides whether to `abandon`). Throws when the
    /// session is already gone.
    public func ping(within seconds: Double) async throws -> Double? {
        let start = ContinuousClock.now
        let answered: Void? = try await Deadline.race(seconds: seconds) { try await self.ping() }
        guard answered != nil else { return nil }
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
