import Foundation

/// Exponential backoff with full jitter for throttling, 5xx and transient transport failures.
public struct RetryPolicy: Sendable {
    /// Attempts in total, including the first.
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    public init(maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(20)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// A uniformly random delay in [0, min(maxDelay, baseDelay · 2^attempt)] (attempt counts from 1).
    public func delay(afterAttempt attempt: Int) -> Duration {
        let base = Double(baseDelay.components.seconds) + Double(baseDelay.components.attoseconds) / 1e18
        let cap = Double(maxDelay.components.seconds) + Double(maxDelay.components.attoseconds) / 1e18
        let ceiling = min(cap, base * pow(2, Double(min(attempt, 30))))
        return .milliseconds(Int64(Double.random(in: 0...ceiling) * 1000))
    }
}

/// Counts API calls (attempts, including retries) per operation, for benchmarks and tests.
public final class AWSCallMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]

    public init() {}

    func record(_ service: String, _ operation: String) {
        lock.withLock { counts["\(service):\(operation)", default: 0] += 1 }
    }

    /// Calls per `service:Operation`.
    public var snapshot: [String: Int] { lock.withLock { counts } }

    /// All calls.
    public var total: Int { lock.withLock { counts.values.reduce(0, +) } }

    public func reset() { lock.withLock { counts.removeAll() } }
}
