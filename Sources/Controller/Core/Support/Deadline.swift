import Synchronization

/// Bounds an await whose peer may never answer.
///
/// A task group would wait for its stuck child; here the operation runs in a
/// task of its own that is left behind (and cancelled) when the deadline
/// passes, so the caller gets control back on time. The operation must end
/// on its own eventually (for agent calls: when the client is abandoned).
public enum Deadline {
    /// The operation's value, or nil when `seconds` passed first. Errors of the operation are rethrown.
    public static func race<T: Sendable>(seconds: Double, _ operation: @escaping @Sendable () async throws -> T) async throws -> T? {
        try await race(operation, against: { try? await Task.sleep(for: .milliseconds(Int64(max(0, seconds) * 1000))) })
    }

    /// The operation's value, or nil when `other` returned first.
    public static func race<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T,
                                         against other: @escaping @Sendable () async -> Void) async throws -> T? {
        let race = Race<T>()
        return try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<T?, any Error>) in
            race.begin(waiter)
            let op = Task {
                do { race.settle(.success(try await operation())) } catch { race.settle(.failure(error)) }
            }
            let timer = Task {
                await other()
                race.settle(.success(nil))
            }
            race.track([op, timer])
        }
    }

    /// The state of one race: the waiter, resumed once, and the two tasks to cancel then.
    private final class Race<T: Sendable>: Sendable {
        private let state = Mutex<(waiter: CheckedContinuation<T?, any Error>?, tasks: [Task<Void, Never>], settled: Bool)>((nil, [], false))

        func begin(_ waiter: CheckedContinuation<T?, any Error>) {
            state.withLock { $0.waiter = waiter }
        }

        func track(_ tasks: [Task<Void, Never>]) {
            let settled = state.withLock { s in
                s.tasks = tasks
                return s.settled
            }
            if settled { tasks.forEach { $0.cancel() } }
        }

        func settle(_ result: Result<T?, any Error>) {
            let (waiter, tasks) = state.withLock { s in
                defer { s.waiter = nil; s.settled = true }
                return (s.waiter, s.tasks)
            }
            guard let waiter else { return }
            waiter.resume(with: result)
            tasks.forEach { $0.cancel() }
        }
    }
}
