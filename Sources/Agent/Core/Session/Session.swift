import AgentProtocol
import Dispatch
import FoundationEssentials
import Glibc

/// One controller session: a single-threaded poll loop over the controller's
/// stream, the pipes of every running process and a wake-up pipe.
///
/// Nothing in the loop blocks: a long exec never delays a ping, and file
/// operations run on a serial worker queue so a large recursive remove cannot
/// stall the stream either.
final class Session {
    struct Configuration {
        /// The token a controller must present; nil when the transport already
        /// proves who is speaking (stdio).
        var requiredToken: String?
        var window = ProtocolConstants.defaultWindow
        /// How long a listener session may wait for its hello.
        var helloTimeoutNs: UInt64 = 10_000_000_000
        /// Called once, when the hello has been accepted (the listener counts
        /// connections that have not authenticated yet).
        var onAuthenticated: (() -> Void)?
        /// Called with false when a resumable session's connection drops (it waits out its
        /// grace period with no controller) and with true when a controller resumes it:
        /// the listener's idle clock runs from the last time a controller was connected.
        var onConnection: ((Bool) -> Void)?
        /// How long a resumable session outlives its connection; 0: sessions
        /// end with their connection (stdio).
        var graceNs: UInt64 = 0
        /// Where resumable sessions are registered for a later connection to find.
        var table: SessionTable?
        /// Unacknowledged output kept in memory before it spills to disk.
        var replayMemory = ProtocolConstants.defaultWindow
        /// The private directory for spill files; nil keeps everything in memory.
        var spillDirectory: String?
        /// Bound on one session's spill file: output pauses when it is reached.
        var spillLimit: Int64 = 1 << 30
        /// The session closes its connection when it ends or detaches (listener sessions).
        var ownsConnection = false
        /// Applies `agent.configure` to the agent (the listener's idle timeout):
        /// nil when applied, else why not. Absent (stdio): refused.
        var configure: ((ConfigureParams) -> ProtocolError?)?
        /// Bytes a connection may send before its hello is accepted; nil: no
        /// bound (stdio). The listener gives each connection an equal share of
        /// `Admission.Limits.maxPreHelloBytes`, so that connections which never
        /// finish a hello hold a bounded total however many there are.
        var preHelloLimit: Int?
    }

    enum End {
        case peerClosed, outputFailed, rejected, shutdown
        /// The connection carried a resume: another session took it over.
        case handedOver
        /// A resumable session's connection stayed away past the grace period.
        case graceExpired
        /// A resumable session could not keep its output (spill file failure).
        case dropped
    }

    var inFD: Int32
    var outFD: Int32
    /// False while a resumable session waits for its controller to come back.
    var connected = true
    /// Set at hello when the controller asked for it and the agent keeps sessions.
    var resumable = false
    var sessionID = ""
    /// When a detached session gives up.
    var graceDeadline: UInt64?
    /// The highest request id read in this session (what a resume reports).
    /// Nil until a request arrives (id 0 is a valid id).
    var highestRequestID: UInt64?
    /// After a resume, requests at or below this id were already received:
    /// ignored. Nil before any resume: a first request with id 0 is answered.
    var ignoreThrough: UInt64?
    /// Why the session ended, for a late resume.
    var endReason = "it ended"
    /// Directories made with `mkdir` `scratch`: removed when the session ends.
    var scratchDirectories: [String] = []
    let config: Configuration
    let registry: ProcessRegistry
    let mailbox: Mailbox
    let codec = MessageCodec()
    var framer = LineFramer()
    var out = OutputQueue()
    var helloDone = false
    var window: Int
    var execs: [UInt64: RunningExec] = [:]
    var execByPID: [pid_t: UInt64] = [:]
    var fileOpsInFlight: Set<UInt64> = []
    /// Syncs begun by `sync.scan` and not ended: each holds its destination open and locked.
    let syncs = SyncTable()
    /// `exec.stdin` requests waiting for their bytes to reach the pipe.
    var stdinRequests: Set<UInt64> = []
    lazy var fileQueue = DispatchQueue(label: "automation-agent.files")
    var end: End?
    let helloDeadline: UInt64
    var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    /// Lines read but not handled yet: at most `linesPerTurn` are handled per
    /// loop turn, so exits and output of running processes are served between
    /// them (a burst of 1,000 execs does not hold every reply until the last
    /// spawn), and no more input is read until they are done (backpressure).
    var pendingLines: [LineFramer.Item] = []
    var pendingLineIndex = 0
    static let linesPerTurn = 16
    /// Bytes read from the connection before its hello was accepted.
    var preHelloBytes = 0
    /// Unsent bytes above which no more requests are handled: the reply of
    /// every operation (fs.read, sync, exec) waits in the output queue, and
    /// while the controller does not read them the session does not read
    /// its requests either, so memory stays bounded (docs/protocol.md, "Flow control").
    static let maxPendingReplyBytes = 4 * 1024 * 1024
    /// File operations queued for the worker at once: each may hold a
    /// megabyte or two (a sync batch, a read chunk) until it is answered.
    static let maxFileOpsInFlight = 8

    /// Whether the next request may be handled now (see `maxPendingReplyBytes`).
    /// Unsent bytes, not unacknowledged ones: acks arrive on the same stream,
    /// behind the requests this would hold back.
    var requestsOpen: Bool {
        out.pendingBytes < Self.maxPendingReplyBytes && fileOpsInFlight.count < Self.maxFileOpsInFlight
    }

    /// Process output is read only while the controller keeps up, or, while
    /// it is away, while there is room to keep the output for it.
    var outputOpen: Bool {
        guard connected else { return out.roomForOutput }
        return out.unackedBytes < window && out.pendingBytes < 1 << 20 && out.roomForOutput
    }

    /// Nil when the session's wake-up pipe cannot be made (no descriptors left).
    init?(input: Int32, output: Int32, config: Configuration, registry: ProcessRegistry = .shared) {
        guard let mailbox = Mailbox() else { return nil }
        self.mailbox = mailbox
        inFD = input
        outFD = output
        self.config = config
        self.registry = registry
        window = config.window
        helloDeadline = Sys.now() + config.helloTimeoutNs
        Sys.setNonBlocking(input)
        Sys.setNonBlocking(output)
    }

    /// Serves until the controller leaves or asks for shutdown.
    func run() -> End {
        var fds: [pollfd] = []
        var owners: [PollOwner] = []
        while end == nil {
            fds.removeAll(keepingCapacity: true)
            owners.removeAll(keepingCapacity: true)
            func watch(_ fd: Int32, _ events: Int32, _ owner: PollOwner) {
                fds.append(pollfd(fd: fd, events: Int16(events), revents: 0))
                owners.append(owner)
            }
            watch(mailbox.wakeFD, POLLIN, .wake)
            let linesWaiting = pendingLineIndex < pendingLines.count
            let takeRequests = requestsOpen
            if end == nil && !linesWaiting && connected && takeRequests { watch(inFD, POLLIN, .input) }
            if connected && out.pendingBytes > 0 { watch(outFD, POLLOUT, .output) }
            if end == nil {
                let readOutput = outputOpen
                for exec in execs.values {
                    if readOutput {
                        if exec.stdoutFD >= 0 { watch(exec.stdoutFD, POLLIN, .stdout(exec.id)) }
                        if exec.stderrFD >= 0 { watch(exec.stderrFD, POLLIN, .stderr(exec.id)) }
                    }
                    if exec.stdinFD >= 0 && exec.stdin.pendingCount > 0 { watch(exec.stdinFD, POLLOUT, .stdin(exec.id)) }
                }
            }
            let timeout = linesWaiting && takeRequests ? 0 : pollTimeout()
            let n = fds.withUnsafeMutableBufferPointer { Glibc.poll($0.baseAddress, nfds_t($0.count), timeout) }
            if n < 0 && errno != EINTR { break }
            if n > 0 {
                for i in fds.indices where fds[i].revents != 0 {
                    handleReady(owners[i], revents: Int32(fds[i].revents))
                }
            }
            fireTimers(now: Sys.now())
            handlePendingLines(limit: Self.linesPerTurn)
            if end == nil, connected, out.pendingBytes > 0 { flushOutput() }
        }
        finish()
        return end ?? .outputFailed
    }

    enum PollOwner {
        case wake, input, output, stdout(UInt64), stderr(UInt64), stdin(UInt64)
    }

    private func handleReady(_ owner: PollOwner, revents: Int32) {
        switch owner {
        case .wake: handleMailbox()
        case .input: readInput()
        case .output: flushOutput()
        case .stdout(let id): if let exec = execs[id] { readOutput(exec, stream: .stdout) }
        case .stderr(let id): if let exec = execs[id] { readOutput(exec, stream: .stderr) }
        case .stdin(let id): if let exec = execs[id] { writeStdin(exec) }
        }
    }

    private func readInput() {
        let n = readBuffer.withUnsafeMutableBytes { raw in Sys.retrying { Glibc.read(inFD, raw.baseAddress, raw.count) } }
        if n < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { return }
            connectionLost(.peerClosed)
            return
        }
        if n == 0 {
            if let tail = framer.finish(), case .line = tail { pendingLines.append(tail) }
            handlePendingLines(limit: .max)
            connectionLost(.peerClosed)
            return
        }
        if !helloDone, let limit = config.preHelloLimit {
            preHelloBytes += n
            if preHelloBytes > limit {
                sendError(id: nil, ProtocolError(.tooLarge, "no hello within the first \(limit) bytes"))
                end = .rejected
                return
            }
        }
        readBuffer.withUnsafeBytes { raw in
            framer.push(UnsafeRawBufferPointer(rebasing: raw[0..<n])) { item in pendingLines.append(item) }
        }
    }

    /// Handles up to `limit` of the lines read so far, in order, while
    /// `requestsOpen` (unless `limit` is `.max`: the connection is closing,
    /// and what it delivered counts as received).
    func handlePendingLines(limit: Int) {
        var handled = 0
        while pendingLineIndex < pendingLines.count && handled < limit && end == nil && (limit == .max || requestsOpen) {
            let item = pendingLines[pendingLineIndex]
            pendingLineIndex += 1
            handled += 1
            switch item {
            case .line(let line): handleLine(line)
            case .oversized(let length): sendError(id: nil, codec.oversizedLineError(length: length))
            }
        }
        if pendingLineIndex == pendingLines.count || end != nil {
            pendingLines.removeAll(keepingCapacity: pendingLines.count < 1024)
            pendingLineIndex = 0
        }
    }

    func flushOutput() {
        guard connected else { return }
        switch out.flush(to: outFD) {
        case .failed: connectionLost(.outputFailed)
        case .lost(let message): drop("its unacknowledged output could not be read back: \(message)")
        case .drained, .blocked: break
        }
    }

    /// Queues a message; events and replies get the next sequence number.
    func send(_ message: AgentMessage) {
        var line: [UInt8]
        do {
            line = try codec.encodeLine(message)
        } catch {
            // Only an oversized message fails to encode; the request still gets an answer.
            guard case .reply(let reply) = message, let fallback = try? codec.encodeLine(AgentMessage.reply(Reply(
                id: reply.id, seq: reply.seq, outcome: .failure(ProtocolError(.tooLarge, "reply does not fit in one line")))))
            else { return }
            line = fallback
        }
        do {
            try out.append(line, seq: message.seq)
        } catch {
            return drop("its unacknowledged output could not be kept: \(error.message)")
        }
        if connected && out.pendingBytes > 64 * 1024 { flushOutput() }
    }

    func reply(_ id: UInt64?, _ outcome: Result<ReplyBody, ProtocolError>) {
        send(.reply(Reply(id: id, seq: out.nextSeq(), outcome: outcome)))
    }

    func sendError(id: UInt64?, _ error: ProtocolError) {
        reply(id, .failure(error))
    }

    private func pollTimeout() -> Int32 {
        var next: UInt64 = .max
        if !helloDone && config.requiredToken != nil { next = helloDeadline }
        if !connected, let graceDeadline { next = min(next, graceDeadline) }
        for exec in execs.values {
            for t in [exec.timeoutAt, exec.killAt, exec.drainUntil] { if let t { next = min(next, t) } }
        }
        if next == .max { return -1 }
        let now = Sys.now()
        if next <= now { return 0 }
        return Int32(min((next - now) / 1_000_000 + 1, 60_000))
    }

    private func fireTimers(now: UInt64) {
        if !helloDone, config.requiredToken != nil, now >= helloDeadline, end == nil {
            sendError(id: nil, ProtocolError(.helloRequired, "no hello within \(config.helloTimeoutNs / 1_000_000_000) s"))
            end = .rejected
        }
        if !connected, let graceDeadline, now >= graceDeadline, end == nil {
            endReason = "no controller came back within \(config.graceNs / 1_000_000_000) s of its connection dropping; its processes were killed"
            end = .graceExpired
        }
        for exec in Array(execs.values) { fireTimers(exec, now: now) }
    }

    private func finish() {
        for exec in execs.values {
            kill(-exec.pid, SIGKILL)
            exec.closeAll()
        }
        execs.removeAll()
        // Whatever the controller did not remove itself (it may never come back).
        for path in scratchDirectories {
            _ = FileOperations.perform(.remove(RemoveParams(path: path, recursive: true, missingOK: true)))
        }
        // After any file operation still queued: a sync left open releases its destination.
        let syncs = self.syncs
        fileQueue.async { syncs.endAll() }
        if resumable {
            switch end {
            case .shutdown: endReason = "the agent was shut down"
            case .peerClosed, .outputFailed: endReason = "the controller ended it"
            default: break
            }
            config.table?.ended(sessionID, reason: endReason)
            // A handover posted before the table said "ended" is refused here.
            for case .attach(let handover) in mailbox.drain() {
                refuse(handover.fd, ProtocolError(.resumeFailed, "session \(sessionID) cannot be resumed: \(endReason)"))
            }
        }
        // Queued file operations of a session that is gone are skipped, and
        // their results no longer kept.
        mailbox.close()
        if connected && (end == .shutdown || end == .rejected) {
            // Best effort: let the last reply reach the controller.
            let deadline = Sys.now() + 2_000_000_000
            while out.pendingBytes > 0 && Sys.now() < deadline {
                if case .failed = out.flush(to: outFD) { break }
                var pfd = pollfd(fd: outFD, events: Int16(POLLOUT), revents: 0)
                _ = Glibc.poll(&pfd, 1, 100)
            }
        }
        if connected && config.ownsConnection { closeConnection() }
        // The spill file goes with the queue.
        out = OutputQueue()
    }
}
