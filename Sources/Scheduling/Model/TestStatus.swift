/// How one attempt at running a test ended.
public enum TestStatus: String, Codable, Sendable, CaseIterable {
    case passed = "pass"
    case failed = "fail"
    case skipped = "skip"
    case error
    case timedOut = "timeout"
    /// Never ran to completion: the run was interrupted or no slot was left
    /// for it. Not a failure of the test; JUnit shows it as skipped.
    case notRun = "notrun"

    /// True for the statuses that make a run fail (and that `--retry-failed` retries).
    public var isFailure: Bool {
        switch self {
        case .failed, .error, .timedOut: true
        case .passed, .skipped, .notRun: false
        }
    }
}

/// The verdict on a test once every attempt at it is over.
public enum TestVerdict: String, Codable, Sendable, CaseIterable {
    case passed = "pass"
    case failed = "fail"
    case skipped = "skip"
    case error
    case timedOut = "timeout"
    /// Failed at least once, then passed on a retry: reported apart from passes.
    case flaky
    /// Never ran to completion (interrupted, or no slot left for it).
    case notRun = "notrun"

    /// True when the verdict makes the run fail.
    public var isFailure: Bool {
        switch self {
        case .failed, .error, .timedOut: true
        case .passed, .skipped, .flaky, .notRun: false
        }
    }

    /// The verdict of a single attempt that is final.
    public init(_ status: TestStatus) {
        switch status {
        case .passed: self = .passed
        case .failed: self = .failed
        case .skipped: self = .skipped
        case .error: self = .error
        case .timedOut: self = .timedOut
        case .notRun: self = .notRun
        }
    }
}
