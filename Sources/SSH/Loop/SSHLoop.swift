import CLibSSH2
import Descriptors
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The I/O thread of one SSH connection.
///
/// Everything that touches the libssh2 session runs here: queued operations
/// (channel opens, SFTP), and the pumping of open stream channels. The socket
/// is non-blocking and waited on with poll(2), together with an eventfd that
/// other threads write to when they queue work or bytes.
final class SSHLoop: @unchecked Sendable {
    let logger: Logger
    /// "user@host:port", for messages.
    let label: String
    let configuration: SSHConfiguration

    // Shared state, guarded by `lock`.
    private let lock = NSLock()
    private var incoming: [LoopOperation] = []
    private var failure: SSHError?
    private var stopRequested = false
    private var pendingStreamWork = false
    /// Handles that live as long as the session unless released earlier
    /// (SFTP subsystems): teardown releases what is left, once, before
    /// freeing the session, so a lost connection leaks nothing.
    private var sessionResources: [ObjectIdentifier: () -> Void] = [:]
    /// Read and write ends of the wake-up pipe.
    private let wakeFD: Int32
    private let wakeWriteFD: Int32

    // Loop-thread state.
    var session: OpaquePointer?
    var socketFD: Int32 = -1
    private var operations: [LoopOperation] = []
    var streams: [SSHStreamState] = []
    /// A session channel opened but whose exec request libssh2 has not sent yet.
    var pendingExecChannel: OpaquePointer?
    let readBuffer = UnsafeMutableRawPointer.allocate(byteCount: SSHLoop.readBufferSize, alignment: 16)
    static let readBufferSize = 256 * 1024
    private var nextKeepalive = ContinuousClock.now
    private var thread: Thread?
    /// Signalled when the I/O thread has ended.
    private let finished = DispatchSemaphore(value: 0)

    /// Loops whose I/O thread is running, for the exit handler.
    private static let registryLock = NSLock()
    nonisolated(unsafe) private static var running: [ObjectIdentifier: SSHLoop] = [:]

    /// Stops every running I/O thread, waiting briefly for each (process exit).
    static func stopAllForExit() {
        registryLock.lock()
        let loops = Array(running.values)
        registryLock.unlock()
        for loop in loops { loop.requestStop() }
        for loop in loops { _ = loop.finished.wait(timeout: .now() + .milliseconds(300)) }
    }

    init(label: String, configuration: SSHConfiguration, logger: Logger) {
        self.label = label
        self.configuration = configuration
        self.logger = logger
        // Checked: without its wake-up pipe the loop could never be woken,
        // so a failure (no descriptors left) fails the connection at start.
        do {
            let pipe = try FileDescriptor.pipe()
            pipe.read.setNonBlocking()
            pipe.write.setNonBlocking()
            // Owned by this loop from here; closed in deinit.
            self.wakeFD = pipe.read.release()
            self.wakeWriteFD = pipe.write.release()
            setupError = nil
        } catch {
            self.wakeFD = -1
            self.wakeWriteFD = -1
            setupError = SSHError(.connectFailed, "\(label): cannot create the connection's wake-up pipe (\(error)); close some files or raise the descriptor limit (ulimit -n).")
        }
    }

    /// Why the loop cannot run at all (set by `init`).
    private let setupError: SSHError?

    deinit {
        readBuffer.deallocate()
        if wakeFD >= 0 { Glibc.close(wakeFD) }
        if wakeWriteFD >= 0 { Glibc.close(wakeWriteFD) }
    }

    // MARK: Starting

    /// Starts the I/O thread: it connects and authenticates (`establish`), reports
    /// the outcome, and on success serves operations until closed or broken.
    func start(establish: @escaping @Sendable (SSHLoop) throws -> SSHConnectionInfo,
               completion: @escaping @Sendable (Result<SSHConnectionInfo, SSHError>) -> Void) {
        if let setupError { return completion(.failure(setupError)) }
        SSHLoop.registryLock.lock()
        SSHLoop.running[ObjectIdentifier(self)] = self
        SSHLoop.registryLock.unlock()
        let thread = Thread { [self] in
            defer {
                SSHLoop.registryLock.lock()
                SSHLoop.running[ObjectIdentifier(self)] = nil
                SSHLoop.registryLock.unlock()
                self.finished.signal()
            }
            let info: SSHConnectionInfo
            do {
                info = try establish(self)
            } catch {
                let sshError = SSHLoop.wrap(error)
                self.teardown(sshError, graceful: false)
                completion(.failure(sshError))
                return
            }
            completion(.success(info))
            self.run()
        }
        thread.name = "ssh \(label)"
        thread.stackSize = 1 << 20
        self.thread = thread
        thread.start()
    }

    // MARK: Submitting work (any thread)

    /// Queues an operation; it fails at once if the connection is gone.
    func submit(_ operation: LoopOperation) {
        lock.lock()
        if let failure {
            lock.unlock()
            operation.fail(failure)
            return
        }
        incoming.append(operation)
        lock.unlock()
        wake()
    }

    /// Runs `body` on the I/O thread until it returns a value; nil means "not
    /// yet" (libssh2 said EAGAIN) and the body is retried when the socket is ready.
    func perform<T: Sendable>(_ what: String, timeout: Duration? = nil,
                              _ body: @escaping (SSHLoop) throws -> T?) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let operation = LoopOperation(
                what: what, timeout: timeout ?? configuration.operationTimeout,
                step: { loop in
                    guard let value = try body(loop) else { return .pending }
                    continuation.resume(returning: value)
                    return .done
                },
                fail: { continuation.resume(throwing: $0) })
            submit(operation)
        }
    }

    /// Queues fire-and-forget cleanup (freeing a handle from a deinit).
    func submitCleanup(_ what: String, _ body: @escaping (SSHLoop) -> Bool) {
        let operation = LoopOperation(
            what: what, timeout: .seconds(5), isCleanup: true,
            step: { loop in body(loop) ? .done : .pending }, fail: { _ in })
        lock.lock()
        let alive = failure == nil
        if alive { incoming.append(operation) }
        lock.unlock()
        if alive { wake() }
    }

    /// Registers a handle that teardown must release if its owner has not.
    func registerSessionResource(_ owner: ObjectIdentifier, release: @escaping () -> Void) {
        lock.lock()
        if failure == nil { sessionResources[owner] = release }
        lock.unlock()
    }

    /// Takes the registration back; false when teardown already released it
    /// (the owner must not touch its handle then: the session is gone).
    func unregisterSessionResource(_ owner: ObjectIdentifier) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return sessionResources.removeValue(forKey: owner) != nil
    }

    /// Tells the loop that a stream has bytes to send or a state change.
    func streamNeedsService() {
        lock.lock()
        pendingStreamWork = true
        lock.unlock()
        wake()
    }

    /// Asks the loop to close every channel, disconnect and end the thread.
    func requestStop() {
        lock.lock()
        stopRequested = true
        lock.unlock()
        wake()
    }

    /// The error that ended the connection, if it has ended.
    var terminalError: SSHError? {
        lock.lock()
        defer { lock.unlock() }
        return failure
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = Glibc.write(wakeWriteFD, &byte, 1)
    }

    // MARK: The loop

    private func run() {
        nextKeepalive = .now + .seconds(configuration.keepaliveInterval)
        var stopDeadline: ContinuousClock.Instant?
        while true {
            lock.lock()
            let newOperations = incoming
            incoming.removeAll()
            let stopping = stopRequested
            pendingStreamWork = false
            lock.unlock()
            operations.append(contentsOf: newOperations)

            if stopping && stopDeadline == nil {
                stopDeadline = .now + .seconds(2)
                for stream in streams { stream.requestCloseFromLoop() }
            }

            var progress = false
            do {
                progress = try runOperations()
                for stream in streams where try stream.pump(self) { progress = true }
                streams.removeAll { $0.isFinished }
                try keepalive()
            } catch {
                teardown(SSHLoop.wrap(error), graceful: false)
                return
            }
            let now = ContinuousClock.now
            expireQueuedOperations(now: now)
            if let head = operations.first, head.started, now >= head.deadline {
                // A started libssh2 call cannot be abandoned halfway without
                // corrupting session state, so a stalled one ends the connection.
                teardown(SSHError(.timedOut, "\(label): \(head.what) got no answer within \(SSHLoop.describe(head.timeout)); the connection is considered dead."), graceful: false)
                return
            }
            if let stopDeadline, streams.isEmpty || now >= stopDeadline {
                teardown(SSHError(.closed, "\(label): the SSH connection was closed."), graceful: true)
                return
            }
            if progress { continue }
            if !waitForEvents(until: nextWakeDeadline(now: now)) {
                teardown(SSHError(.disconnected, "\(label): the SSH connection was closed by the remote side."), graceful: false)
                return
            }
        }
    }

    /// Runs queued operations in order; returns whether any completed.
    private func runOperations() throws -> Bool {
        var progress = false
        while let head = operations.first {
            let outcome: LoopOperation.Outcome
            do {
                outcome = try head.step(self)
            } catch {
                let sshError = SSHLoop.wrap(error)
                operations.removeFirst()
                head.fail(sshError)
                if sshError.code == .disconnected { throw sshError }
                progress = true
                continue
            }
            if outcome == .pending { break }
            operations.removeFirst()
            progress = true
        }
        return progress
    }

    private func expireQueuedOperations(now: ContinuousClock.Instant) {
        guard operations.count > 1 else { return }
        var kept: [LoopOperation] = [operations[0]]
        for operation in operations.dropFirst() {
            if !operation.started && now >= operation.deadline {
                operation.fail(SSHError(.timedOut, "\(label): \(operation.what) waited more than \(SSHLoop.describe(operation.timeout)) behind other work on this connection."))
            } else {
                kept.append(operation)
            }
        }
        operations = kept
    }

    private func keepalive() throws {
        guard let session, ContinuousClock.now >= nextKeepalive else { return }
        var seconds: Int32 = 0
        let rc = libssh2_keepalive_send(session, &seconds)
        if rc != 0 && rc != LIBSSH2_ERROR_EAGAIN {
            throw SSHError(.disconnected, "\(label): the SSH connection broke (keepalive could not be sent).", libssh2Code: rc)
        }
        nextKeepalive = .now + .seconds(max(1, Int(seconds)))
    }

    private func nextWakeDeadline(now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        var deadline = min(nextKeepalive, now + .seconds(1))
        if let head = operations.first { deadline = min(deadline, head.deadline) }
        return deadline
    }

    /// Waits for the socket or a wake-up. Returns false if the peer hung up.
    private func waitForEvents(until deadline: ContinuousClock.Instant) -> Bool {
        var socketEvents: Int16 = 0
        // Only reads drain the socket: without an operation or a started
        // channel to read, waiting for POLLIN would spin.
        if !operations.isEmpty || streams.contains(where: \.isReading) { socketEvents |= Int16(POLLIN) }
        if let session, libssh2_session_block_directions(session) & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 {
            socketEvents |= Int16(POLLOUT)
        }
        var fds = [
            pollfd(fd: socketFD, events: socketEvents, revents: 0),
            pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
        ]
        let remaining = ContinuousClock.now.duration(to: deadline)
        let millis = max(0, Int32(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000) + 1)
        quickAck()
        let rc = poll(&fds, 2, millis)
        if rc < 0 { return true }  // EINTR: just go round again
        if fds[1].revents & Int16(POLLIN) != 0 {
            var drain = [UInt8](repeating: 0, count: 256)
            while Glibc.read(wakeFD, &drain, 256) == 256 {}
        }
        let hangup = Int16(POLLHUP | POLLERR | POLLNVAL)
        if fds[0].revents & hangup != 0 && fds[0].revents & Int16(POLLIN) == 0 { return false }
        if socketEvents & Int16(POLLIN) == 0, fds[0].revents & Int16(POLLIN) != 0 {
            // Nobody is reading; only a closed peer makes an idle socket readable
            // in a way we care about here.
            var byte: UInt8 = 0
            if recv(socketFD, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) == 0 { return false }
        }
        return true
    }

    // MARK: Ending

    /// Fails everything still pending, frees the session and closes the socket.
    func teardown(_ error: SSHError, graceful: Bool) {
        lock.lock()
        if failure == nil { failure = error }
        let queued = incoming
        incoming.removeAll()
        let resources = sessionResources
        sessionResources.removeAll()
        lock.unlock()
        if session != nil {
            // One attempt each, while the session still exists: handles
            // first (abandoned transfers), then the subsystems they belong to.
            for operation in operations + queued where operation.isCleanup { _ = try? operation.step(self) }
            for release in resources.values { release() }
        }
        for operation in operations + queued { operation.fail(error) }
        operations.removeAll()
        for stream in streams { stream.abort(error) }
        streams.removeAll()
        if let session {
            if graceful {
                let deadline = ContinuousClock.now + .milliseconds(500)
                while cssh2_session_disconnect(session, "automation closing") == LIBSSH2_ERROR_EAGAIN,
                      ContinuousClock.now < deadline {
                    _ = waitSocket(until: deadline)
                }
            }
            if socketFD >= 0 { shutdown(socketFD, Int32(SHUT_RDWR)) }
            var attempts = 0
            while libssh2_session_free(session) == LIBSSH2_ERROR_EAGAIN, attempts < 100 { attempts += 1 }
            self.session = nil
        }
        if socketFD >= 0 {
            Glibc.close(socketFD)
            socketFD = -1
        }
        logger.debug("ssh.connection.closed", metadata: ["ssh.host": "\(label)", "ssh.reason": "\(error.message)"])
    }

    // MARK: Helpers used by operations

    /// Waits until the socket is ready in the direction libssh2 is blocked on.
    /// Returns false on timeout. Used only before the loop runs (connect phase)
    /// and during teardown.
    func waitSocket(until deadline: ContinuousClock.Instant) -> Bool {
        var events: Int16 = Int16(POLLIN)
        if let session, libssh2_session_block_directions(session) & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 {
            events |= Int16(POLLOUT)
        }
        quickAck()
        var fd = pollfd(fd: socketFD, events: events, revents: 0)
        let remaining = ContinuousClock.now.duration(to: deadline)
        if remaining <= .zero { return false }
        let millis = Int32(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000) + 1
        return poll(&fd, 1, millis) != 0
    }

    /// Acknowledge the next segment at once. sshd leaves Nagle on for
    /// non-interactive sessions, so when it writes two packets in a row the
    /// second waits for our ACK; a delayed ACK (40 ms on Linux) would stall
    /// every such exchange. Linux clears quick-ack mode on its own, hence
    /// before every wait.
    func quickAck() {
        var one: Int32 = 1
        setsockopt(socketFD, Int32(IPPROTO_TCP), TCP_QUICKACK, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// libssh2's last error message for this session.
    func lastErrorMessage() -> String {
        guard let session else { return "no session" }
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        libssh2_session_last_error(session, &message, &length, 0)
        guard let message else { return "unknown error" }
        return String(cString: message)
    }

    /// Turns a failed libssh2 call into an error: socket-level codes become
    /// `.disconnected` (which ends the connection), others get `code`.
    func makeError(_ code: SSHError.Code, _ what: String, rc: Int32) -> SSHError {
        if SSHLoop.isSocketError(rc) {
            return SSHError(.disconnected, "\(label): the SSH connection broke during \(what) (\(lastErrorMessage())).", libssh2Code: rc)
        }
        return SSHError(code, "\(label): \(what) failed: \(lastErrorMessage()) (libssh2 error \(rc)).", libssh2Code: rc)
    }

    /// The one place a channel is freed (a refused exec's, or a stream's at
    /// the end of its close sequence): false while libssh2 wants to be called
    /// again (EAGAIN). Each caller owns its channel and calls this until true,
    /// then forgets the pointer.
    static func freeChannel(_ channel: OpaquePointer) -> Bool {
        libssh2_channel_free(channel) != LIBSSH2_ERROR_EAGAIN
    }

    static func isSocketError(_ rc: Int32) -> Bool {
        rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_SOCKET_SEND
            || rc == LIBSSH2_ERROR_SOCKET_RECV || rc == LIBSSH2_ERROR_SOCKET_NONE
            || rc == LIBSSH2_ERROR_SOCKET_TIMEOUT || rc == LIBSSH2_ERROR_BAD_SOCKET
    }

    static func wrap(_ error: any Error) -> SSHError {
        if let error = error as? SSHError { return error }
        return SSHError(.channelFailed, "\(error)")
    }

    static func describe(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return seconds == seconds.rounded() ? "\(Int(seconds)) s" : String(format: "%.1f s", seconds)
    }
}
