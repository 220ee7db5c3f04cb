import Glibc
import Synchronization

/// What the listener lets in: like sshd's MaxStartups and LoginGraceTime, a
/// cap on connections that have not presented the token yet (each has at
/// most the hello deadline to do so), a cap on sessions, and a spare
/// descriptor so that descriptor exhaustion refuses a connection (accept,
/// then close at once) instead of leaving it in the backlog or trapping.
final class Admission: Sendable {
    struct Limits {
        /// Connections accepted that have not completed their hello.
        var maxUnauthenticated = 64
        /// Sessions in all, authenticated or not.
        var maxSessions = 512
        /// Bytes all connections that have not completed their hello may
        /// hold between them: each gets an equal share (8 MiB / 64 = 128 KiB,
        /// ample for a hello of a few hundred bytes) and is closed beyond it.
        var maxPreHelloBytes = 8 * 1024 * 1024

        /// What one connection may send before its hello is accepted.
        var preHelloShare: Int { maxPreHelloBytes / max(maxUnauthenticated, 1) }
    }

    let limits: Limits
    private let unauthenticated = Atomic<Int>(0)
    private let sessions = Atomic<Int>(0)
    /// Refused connections, for the tests and the log.
    let refused = Atomic<Int>(0)
    /// A descriptor held in reserve: closed to make room to accept and drop
    /// one connection when the process has run out.
    private let spare = Mutex<Int32>(-1)

    init(limits: Limits = Limits()) {
        self.limits = limits
        spare.withLock { $0 = open("/dev/null", O_RDONLY | O_CLOEXEC) }
    }

    var activeSessions: Int { sessions.load(ordering: .relaxed) }

    /// Reserves a slot for a new connection, or nil when it must be refused.
    func admit() -> Ticket? {
        let pending = unauthenticated.add(1, ordering: .relaxed).newValue
        let total = sessions.add(1, ordering: .relaxed).newValue
        if pending > limits.maxUnauthenticated || total > limits.maxSessions {
            unauthenticated.subtract(1, ordering: .relaxed)
            sessions.subtract(1, ordering: .relaxed)
            refused.add(1, ordering: .relaxed)
            return nil
        }
        return Ticket(admission: self)
    }

    /// One admitted connection: counted as unauthenticated until `authenticated()`.
    final class Ticket: @unchecked Sendable {
        private let admission: Admission
        private var pending = true
        private var open = true

        fileprivate init(admission: Admission) { self.admission = admission }

        /// The hello was accepted; the connection no longer counts against the startup cap.
        func authenticated() {
            guard pending else { return }
            pending = false
            admission.unauthenticated.subtract(1, ordering: .relaxed)
        }

        /// The session ended (or never started).
        func release() {
            authenticated()
            guard open else { return }
            open = false
            admission.sessions.subtract(1, ordering: .relaxed)
        }
    }

    /// After accept failed with EMFILE/ENFILE: uses the spare descriptor to
    /// accept one pending connection and close it, so its client sees the
    /// refusal at once; then takes the spare back.
    func dropOnePending(listener: Int32, accept: (Int32) -> Int32) {
        spare.withLock { fd in
            if fd >= 0 {
                close(fd)
                fd = -1
            }
            let client = accept(listener)
            if client >= 0 {
                close(client)
                refused.add(1, ordering: .relaxed)
            }
            fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        }
    }
}
