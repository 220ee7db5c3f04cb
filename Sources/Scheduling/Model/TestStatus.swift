/// How one attempt at running a test ended.
public enum TestStatus: String, Codable, Sendable, CaseIterable {
    case passed = "pass"
    case failed = "fail"
    case skipped = "skip"
    case error
    case timedOut = "timeout"

    /// True for the statuses that make a run fail (and that `--retry-failed` retries).
    public var isFailure: Bool {
        switch self {
        case .failed, .error, .timedOut: true
        case .passed, .skipped: false
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

    /// True when the verdict makes the run fail.
    public var isFailure: Bool {
        switch self {
        case .failed, .error, .timedOut: true
        case .passed, .skipped, .flaky: false
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
        }
    }
}
