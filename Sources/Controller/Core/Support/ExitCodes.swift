import ArgumentParser

/// The controller's own exit codes (README, `automation --help`). `exec` passes the remote
/// command's status through and uses these only for its own failures.
public enum ExitCodes {
    /// Tests failed (run-tests).
    public static let testsFailed: Int32 = 1
    /// run-tests: a target was unreachable at the start or lost during the run,
    /// or some tests never ran (distinct from both success and test failures).
    public static let targetsLost: Int32 = 3
    /// The target could not do what was asked: the agent answered with an
    /// error (file not found, permission denied, …). Not 1, which scripts
    /// read as "tests failed".
    public static let remoteError: Int32 = 4
    /// run-tests: the test command could not start on a target (not found, not
    /// executable): a setup problem, not test failures. No test counts as run.
    public static let setupFailed: Int32 = 5
    /// sync: nothing is wrong but the moment: a source file kept changing while
    /// it was sent, or another sync held DEST past --lock-timeout (EX_TEMPFAIL).
    public static let tryAgain: Int32 = 75
    /// Wrong flags or arguments.
    public static let usage: Int32 = 64
    /// Interrupted by the user (SIGINT).
    public static let interrupted: Int32 = 130
    /// The tool's own machinery failed: unreachable host, lost connection,
    /// agent refused or crashed, cloud API error. Like ssh, 255.
    public static let infrastructure: Int32 = 255
}
