/// One unit of work that must run on a session's I/O thread because libssh2
/// sessions are not thread-safe. `step` is retried whenever the socket is
/// ready until it reports completion; operations run strictly in order, since
/// libssh2 keeps some in-progress state (channel open, SFTP init) per session.
final class LoopOperation: @unchecked Sendable {
    enum Outcome { case done, pending }

    let what: String
    let timeout: Duration
    /// Pushed forward whenever the step makes progress, so that long transfers
    /// time out on stalls, not on size.
    var deadline: ContinuousClock.Instant
    var started = false
    /// Frees a libssh2 handle: when the connection ends first, teardown still
    /// runs it once, before the session is freed, instead of dropping it.
    let isCleanup: Bool
    private let stepBody: (SSHLoop) throws -> Outcome
    private let failBody: (SSHError) -> Void

    init(what: String, timeout: Duration, isCleanup: Bool = false,
         step: @escaping (SSHLoop) throws -> Outcome,
         fail: @escaping (SSHError) -> Void) {
        self.what = what
        self.isCleanup = isCleanup
        self.timeout = timeout
        self.deadline = .now + timeout
        self.stepBody = step
        self.failBody = fail
    }

    func step(_ loop: SSHLoop) throws -> Outcome {
        if !started {
            started = true
            deadline = .now + timeout
        }
        return try stepBody(loop)
    }

    func touch() { deadline = .now + timeout }

    func fail(_ error: SSHError) { failBody(error) }
}
