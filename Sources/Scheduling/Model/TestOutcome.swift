/// The final word on one test after all its attempts.
public struct TestOutcome: Codable, Sendable, Equatable {
    /// The test's name.
    public var name: String
    /// Its verdict (flaky when a failure was followed by a pass).
    public var verdict: TestVerdict
    /// Every attempt, in the order they ended.
    public var attempts: [TestAttempt]

    /// Creates an outcome.
    public init(name: String, verdict: TestVerdict, attempts: [TestAttempt]) {
        self.name = name
        self.verdict = verdict
        self.attempts = attempts
    }

    /// The attempt that decided the verdict.
    public var last: TestAttempt? { attempts.last }

    /// The most recent failing attempt (for flaky and failed tests).
    public var lastFailure: TestAttempt? { attempts.last { $0.status.isFailure } }

    /// True when the verdict comes from the machinery rather than the test.
    public var isInfrastructureError: Bool { verdict == .error && (last?.infrastructure ?? false) }

    /// Derives a verdict from the statuses of the attempts, oldest first.
    public static func verdict(of statuses: [TestStatus]) -> TestVerdict {
        guard let last = statuses.last else { return .error }
        if last == .passed && statuses.dropLast().contains(where: \.isFailure) { return .flaky }
        return TestVerdict(last)
    }
}
