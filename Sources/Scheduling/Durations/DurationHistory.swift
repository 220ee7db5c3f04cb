/// Recorded wall-clock durations per test, the input of the longest-first order.
public struct DurationHistory: Codable, Sendable, Equatable {
    /// How many recent durations are kept per test.
    public static let kept = 5
    /// Estimate for a test when nothing at all is known.
    public static let fallbackEstimate = 1.0

    /// Recent durations per test name, oldest first, in seconds.
    public var tests: [String: [Double]]

    /// Creates a history.
    public init(tests: [String: [Double]] = [:]) {
        self.tests = tests
    }

    /// The estimate for one known test: the median of its recent durations.
    public func known(_ name: String) -> Double? {
        guard let values = tests[name], !values.isEmpty else { return nil }
        return Self.median(values)
    }

    /// The estimate for tests never seen: the median of the known estimates
    /// (a typical test), or `fallback` for a project seen for the first time.
    public func unknownEstimate(fallback: Double = fallbackEstimate) -> Double {
        let estimates = tests.keys.compactMap(known)
        return estimates.isEmpty ? fallback : Self.median(estimates)
    }

    /// Estimates for a list of tests, unknown ones filled in.
    public func estimates(for names: [String], fallback: Double = fallbackEstimate) -> [String: Double] {
        let unknown = unknownEstimate(fallback: fallback)
        var result: [String: Double] = [:]
        for name in names { result[name] = known(name) ?? unknown }
        return result
    }

    /// Adds one measured duration.
    public mutating func record(_ name: String, seconds: Double) {
        guard seconds.isFinite, seconds >= 0 else { return }
        var values = tests[name] ?? []
        values.append((seconds * 1000).rounded() / 1000)
        if values.count > Self.kept { values.removeFirst(values.count - Self.kept) }
        tests[name] = values
    }

    /// Adds the durations of a run's attempts; infrastructure errors carry no timing.
    public mutating func record(_ attempts: [TestAttempt]) {
        for attempt in attempts where !attempt.infrastructure {
            record(attempt.name, seconds: attempt.duration)
        }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}
