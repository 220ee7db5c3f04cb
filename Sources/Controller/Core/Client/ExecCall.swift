import AgentProtocol
import Synchronization

/// A running exec: its output as an async sequence of chunks, in order per
/// stream, and its result once the process has ended.
///
/// Iterating is what opens the agent's flow-control window: output that nobody
/// reads eventually pauses the remote process rather than filling memory.
public final class ExecCall: AsyncSequence, Sendable {
    public typealias Element = OutputEvent

    public let id: UInt64
    let client: AgentClient
    let chunks: AsyncThrowingStream<OutputEvent, any Error>
    let continuation: AsyncThrowingStream<OutputEvent, any Error>.Continuation
    private let outcome = Mutex<Outcome>(.pending([]))

    private enum Outcome {
        case pending([CheckedContinuation<ExecResult, any Error>])
        case done(Result<ExecResult, any Error>)
    }

    init(id: UInt64, client: AgentClient) {
        self.id = id
        self.client = client
        (chunks, continuation) = AsyncThrowingStream.makeStream(of: OutputEvent.self, throwing: (any Error).self)
    }

    /// Waits for the process to end. Output not consumed stays readable.
    public func result() async throws -> ExecResult {
        let settled: Result<ExecResult, any Error>? = outcome.withLock { state in
            if case .done(let result) = state { return result }
            return nil
        }
        if let settled { return try settled.get() }
        return try await withCheckedThrowingContinuation { waiter in
            let settled: Result<ExecResult, any Error>? = outcome.withLock { state in
                switch state {
                case .done(let result): return result
                case .pending(var waiters):
                    waiters.append(waiter)
                    state = .pending(waiters)
                    return nil
                }
            }
            if let settled { waiter.resume(with: settled) }
        }
    }

    /// Signals the remote process group (SIGTERM, then SIGKILL after the grace period).
    public func cancel(signal: Int32? = nil, killGraceMs: Int? = nil) async throws {
        _ = try await client.call(.cancel(CancelParams(target: id, signal: signal, killGraceMs: killGraceMs)))
    }

    func deliver(_ event: OutputEvent) {
        continuation.yield(event)
    }

    func finish(_ result: Result<ExecResult, any Error>) {
        switch result {
        case .success: continuation.finish()
        case .failure(let error): continuation.finish(throwing: error)
        }
        let waiters: [CheckedContinuation<ExecResult, any Error>] = outcome.withLock { state in
            guard case .pending(let waiters) = state else { return [] }
            state = .done(result)
            return waiters
        }
        for waiter in waiters { waiter.resume(with: result) }
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(base: chunks.makeAsyncIterator(), client: client)
    }

    public struct Iterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<OutputEvent, any Error>.Iterator
        let client: AgentClient

        public mutating func next() async throws -> OutputEvent? {
            let event = try await base.next()
            if let event { client.consumed(event.data.count) }
            return event
        }
    }
}
