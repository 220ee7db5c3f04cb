import AgentProtocol
import Dispatch
import FoundationEssentials
import Logging
import Synchronization

/// A session with one agent over any `AgentTransport`: many requests in flight,
/// replies matched by id, exec output streamed, flow control acknowledged.
///
/// With a reconnector the session is resumable: when its connection drops,
/// the client opens a new one, resumes the session from the last sequence
/// number it received and sends again the requests the agent never saw;
/// callers notice nothing (AgentClient+Reconnect.swift).
public final class AgentClient: Sendable {
    /// What the agent said about itself in its hello.
    public var agentHello: AgentHello { hello.withLock { $0! } }

    let logger: Logger
    let reconnector: AgentReconnector?
    let state: Mutex<State>
    let hello = Mutex<AgentHello?>(nil)
    let encoder = Mutex(MessageCodec())
    /// Every line goes out through this serial queue, in order: a transport
    /// write that blocks (a full SSH window, a full pipe) blocks one of its
    /// threads, never the cooperative pool, whose 2 threads on a 2-core host
    /// would otherwise stall every task in the process.
    let outbox = DispatchQueue(label: "automation.agent-client.outbox")

    struct State {
        /// The current transport; `generation` tells its callbacks from those of earlier ones.
        var transport: any AgentTransport
        var generation: UInt64 = 0
        var nextID: UInt64 = 1
        var calls: [UInt64: CheckedContinuation<ReplyBody, any Error>] = [:]
        var execs: [UInt64: ExecCall] = [:]
        var handshake: CheckedContinuation<AgentHello, any Error>?
        var closed: AgentClientError?
        /// `close()` was called: a transport that ends now is no outage.
        var closing = false
        /// Between a dropped connection and the resumed session: nothing is sent.
        var reconnecting = false
        /// Requests not answered yet, as sent, for a resumed session to send again.
        var unanswered: [UInt64: [UInt8]] = [:]
        var receivedSeq: UInt64 = 0
        var bytesSinceAck = 0
        var bufferedBytes = 0
        var window = ProtocolConstants.defaultWindow
    }

    private init(transport: any AgentTransport, reconnector: AgentReconnector?, logger: Logger) {
        state = Mutex(State(transport: transport))
        self.reconnector = reconnector
        self.logger = logger
    }

    /// Starts the transport and performs the hello exchange. With a
    /// `reconnector` the session asks to be resumable and outlives a
    /// dropped connection.
    public static func connect(transport: any AgentTransport, token: String?, reconnector: AgentReconnector? = nil,
                               logger: Logger) async throws -> AgentClient {
        let client = AgentClient(transport: transport, reconnector: reconnector, logger: logger)
        let hello = ControllerHello(token: token, client: "automation \(AutomationVersion.current)",
                                    resumable: reconnector == nil ? nil : true)
        let agentHello: AgentHello
        do {
            agentHello = try await client.handshake(on: transport, generation: 0, hello: hello)
        } catch {
            client.fail(error as? AgentClientError ?? AgentClientError(.transport, "\(error)"))
            throw error
        }
        guard agentHello.version == ProtocolConstants.version else {
            client.close()
            throw AgentClientError(.handshake, """
                the agent speaks protocol version \(agentHello.version), this controller \(ProtocolConstants.version); \
                deploy the agent built with this controller
                """)
        }
        client.hello.withLock { $0 = agentHello }
        client.state.withLock { $0.window = agentHello.window }
        return client
    }

    /// Starts `transport` as generation `generation`, sends `hello` and waits for the agent's.
    func handshake(on transport: any AgentTransport, generation: UInt64, hello: ControllerHello) async throws -> AgentHello {
        let line = try encoder.withLock { try $0.encodeLine(ControllerMessage.hello(hello)) }
        return try await withCheckedThrowingContinuation { waiter in
            // An earlier attempt's waiter, left behind by a deadline, ends here.
            let earlier = state.withLock { state in
                defer { state.handshake = waiter }
                return state.handshake
            }
            earlier?.resume(throwing: AgentClientError(.transport, "superseded by a new connection attempt"))
            transport.start(LinkSink(client: self, generation: generation))
            outbox.async { [self] in
                do {
                    try transport.send(line)
                } catch {
                    connectionBroke(generation: generation, AgentClientError(.transport, "cannot send hello: \(error)"))
                }
            }
        }
    }

    // MARK: Requests

    /// Sends a request and waits for its reply. For exec, use `exec(_:)`.
    public func call(_ body: RequestBody) async throws -> ReplyBody {
        let line: [UInt8]
        let id: UInt64
        do {
            (id, line) = try reserve(body)
        } catch {
            throw error
        }
        return try await withCheckedThrowingContinuation { waiter in
            let refused: AgentClientError? = state.withLock { state in
                if let closed = state.closed { return closed }
                state.calls[id] = waiter
                return nil
            }
            if let refused {
                state.withLock { _ = $0.unanswered.removeValue(forKey: id) }
                return waiter.resume(throwing: refused)
            }
            send(line)
        }
    }

    /// A new request id and the request's line, kept for a resume until answered.
    private func reserve(_ body: RequestBody) throws -> (UInt64, [UInt8]) {
        let id = try state.withLock { state in
            if let closed = state.closed { throw closed }
            defer { state.nextID += 1 }
            return state.nextID
        }
        let line = try encoder.withLock { try $0.encodeLine(ControllerMessage.request(Request(id: id, body: body))) }
        if reconnector != nil { state.withLock { $0.unanswered[id] = line } }
        return (id, line)
    }

    /// Starts a process; iterate the result for its output, then await `result()`.
    /// A stdin larger than one chunk is streamed with `exec.stdin` requests
    /// (any size, at the process's pace) instead of riding in the request.
    public func exec(_ params: ExecParams) throws -> ExecCall {
        var params = params
        var streamed: Data?
        // Requests are queued without waiting (this is a synchronous API), so
        // each stays small: bigger stdin goes in chunks that wait for their replies.
        if let stdin = params.stdin, stdin.count > Self.inlineStdinLimit {
            streamed = stdin
            params.stdin = nil
            params.stdinStream = true
        }
        let (id, line) = try reserve(.exec(params))
        let call = ExecCall(id: id, client: self)
        try state.withLock { state in
            if let closed = state.closed {
                state.unanswered[id] = nil
                throw closed
            }
            state.execs[id] = call
        }
        send(line)
        if let streamed { call.feedStdinInBackground(streamed) }
        return call
    }

    /// The agent keeps this session through a dropped connection (and must be told `bye`).
    var isResumable: Bool { reconnector != nil && hello.withLock { $0?.graceMs != nil } }

    /// Inline exec stdin above this is streamed with `exec.stdin` instead.
    static let inlineStdinLimit = 64 * 1024

    /// Closes the session; the agent stops whatever it still runs for it.
    /// Lines already queued go out first (then `bye`, which ends a resumable
    /// session at once); a transport stuck in a write is closed anyway after 2 s.
    public func close() {
        let resumable = isResumable
        let (transport, sayBye) = state.withLock { state in
            state.closing = true
            return (state.transport, !state.reconnecting && resumable)
        }
        let bye = sayBye ? try? encoder.withLock { try $0.encodeLine(ControllerMessage.bye) } : nil
        outbox.async {
            if let bye { try? transport.send(bye) }
            transport.close()
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + 2) { transport.close() }
    }

    /// Queues a line for the current transport and returns at once. While
    /// the session is being resumed nothing goes out: requests are sent
    /// again from `unanswered` once it is, and the resume carries the ack.
    /// A transport that breaks starts the resume (or fails the session).
    func send(_ line: [UInt8]) {
        state.withLock { state in
            guard !state.reconnecting, state.closed == nil else { return }
            let transport = state.transport, generation = state.generation
            outbox.async { [self] in
                do {
                    try transport.send(line)
                } catch {
                    connectionBroke(generation: generation, AgentClientError(.transport, "\(error)"))
                }
            }
        }
    }

    // MARK: Flow control

    /// Output handed to a consumer no longer counts against the window.
    func consumed(_ bytes: Int) {
        let ack: UInt64? = state.withLock { state in
            state.bufferedBytes -= bytes
            return Self.ackDue(&state)
        }
        if let ack { sendAck(ack) }
    }

    private func sendAck(_ seq: UInt64) {
        if let line = try? encoder.withLock({ try $0.encodeLine(ControllerMessage.ack(seq: seq)) }) { send(line) }
    }

    /// Acknowledge once a quarter window arrived, unless consumers lag behind:
    /// then the agent's window stays closed until they catch up.
    private static func ackDue(_ state: inout State) -> UInt64? {
        guard state.bytesSinceAck >= state.window / 4, state.bufferedBytes < state.window else { return nil }
        state.bytesSinceAck = 0
        return state.receivedSeq
    }

    // MARK: Inbound

    /// Takes the next event or reply of generation `generation`: false for
    /// one already received (a resume resends from the ack; a late line of a
    /// dropped connection) or from a transport no longer current.
    private func admit(_ seq: UInt64, generation: UInt64, size: Int, state: inout State) -> Bool {
        guard generation == state.generation, seq > state.receivedSeq else { return false }
        state.receivedSeq = seq
        state.bytesSinceAck += size
        return true
    }

    func handle(_ message: AgentMessage, size: Int, generation: UInt64) {
        switch message {
        case .hello(let hello):
            let waiter = state.withLock { state in
                guard generation == state.generation else { return CheckedContinuation<AgentHello, any Error>?.none }
                defer { state.handshake = nil }
                return state.handshake
            }
            waiter?.resume(returning: hello)
        case .event(let event):
            guard case .output(let output) = event.body else { return }
            let (admitted, call, ack) = state.withLock { state in
                guard admit(event.seq, generation: generation, size: size, state: &state) else { return (false, ExecCall?.none, UInt64?.none) }
                let call = state.execs[event.id]
                if call != nil { state.bufferedBytes += output.data.count }
                return (true, call, Self.ackDue(&state))
            }
            guard admitted else { return }
            call?.deliver(output)
            if let ack { sendAck(ack) }
        case .reply(let reply):
            handle(reply, size: size, generation: generation)
        }
    }

    private func handle(_ reply: Reply, size: Int, generation: UInt64) {
        enum Routing {
            case stale, handshake(CheckedContinuation<AgentHello, any Error>)
            case routed(CheckedContinuation<ReplyBody, any Error>?, ExecCall?, UInt64?)
        }
        let routing: Routing = state.withLock { state in
            guard generation == state.generation else { return .stale }
            if let handshake = state.handshake {
                state.handshake = nil
                return .handshake(handshake)
            }
            guard admit(reply.seq, generation: generation, size: size, state: &state) else { return .stale }
            if let id = reply.id { state.unanswered[id] = nil }
            let call = reply.id.flatMap { state.calls.removeValue(forKey: $0) }
            let exec = reply.id.flatMap { state.execs.removeValue(forKey: $0) }
            return .routed(call, exec, Self.ackDue(&state))
        }
        let call: CheckedContinuation<ReplyBody, any Error>?, exec: ExecCall?
        switch routing {
        case .stale:
            return
        case .handshake(let handshake):
            // The only reply possible before the hello is a refusal.
            if case .failure(let refusal) = reply.outcome {
                handshake.resume(throwing: AgentClientError(.handshake, refusal.message, remote: refusal))
            } else {
                handshake.resume(throwing: AgentClientError(.protocolViolation, "reply before hello"))
            }
            return
        case .routed(let c, let e, let ack):
            (call, exec) = (c, e)
            if let ack { sendAck(ack) }
        }
        switch (call, exec, reply.outcome) {
        case (let call?, _, .success(let body)): call.resume(returning: body)
        case (let call?, _, .failure(let error)): call.resume(throwing: AgentClientError.remote(error))
        case (_, let exec?, .success(.exec(let result))): exec.finish(.success(result))
        case (_, let exec?, .success(let other)):
            exec.finish(.failure(AgentClientError(.protocolViolation, "exec answered with \(other.operation.rawValue)")))
        case (_, let exec?, .failure(let error)): exec.finish(.failure(AgentClientError.remote(error)))
        case (nil, nil, .failure(let error)):
            logger.warning("agent reported an error", metadata: ["agent.error": "\(error)"])
        case (nil, nil, .success):
            logger.debug("reply for unknown request", metadata: ["agent.request.id": "\(reply.id.map(String.init) ?? "-")"])
        }
    }

    /// Fails everything in flight, once (also `abandon`, in AgentClient+Liveness.swift).
    func fail(_ error: AgentClientError) {
        let (handshake, calls, execs, transport) = state.withLock { state in
            if state.closed == nil { state.closed = error }
            defer {
                state.handshake = nil
                state.calls = [:]
                state.execs = [:]
                state.unanswered = [:]
            }
            return (state.handshake, state.calls, state.execs, state.transport)
        }
        handshake?.resume(throwing: error)
        for waiter in calls.values { waiter.resume(throwing: error) }
        for exec in execs.values { exec.finish(.failure(error)) }
        guard isResumable, let bye = try? encoder.withLock({ try $0.encodeLine(ControllerMessage.bye) }) else {
            return transport.close()
        }
        // An abandoned session (Ctrl-C twice, a lost target) should not wait out
        // the agent's grace period if the agent can still hear us; a stuck
        // transport is closed after a second all the same.
        outbox.async {
            try? transport.send(bye)
            transport.close()
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { transport.close() }
    }
}

/// Receives one transport's bytes for a client: its own line framer, and
/// the transport's generation so that a replaced transport's late lines are dropped.
final class LinkSink: TransportSink, @unchecked Sendable {
    private let client: AgentClient
    private let generation: UInt64
    /// Touched only from the transport's callbacks, which never run concurrently.
    private var framer = LineFramer()
    private var decoder = MessageCodec()

    init(client: AgentClient, generation: UInt64) {
        self.client = client
        self.generation = generation
    }

    func transportReceived(_ bytes: UnsafeRawBufferPointer) {
        framer.push(bytes) { item in
            switch item {
            case .line(let line) where LineFramer.isBlank(line):
                break
            case .line(let line):
                switch decoder.decodeAgentLine(line) {
                case .success(let message): client.handle(message, size: line.count + 1, generation: generation)
                case .failure(let failure):
                    client.violation(generation: generation, AgentClientError(.protocolViolation, "undecodable message from agent: \(failure.error)"))
                }
            case .oversized(let length):
                client.violation(generation: generation, AgentClientError(.protocolViolation, "agent sent a line of \(length) bytes"))
            }
        }
    }

    func transportClosed(error: (any Error)?) {
        client.connectionBroke(generation: generation, AgentClientError(.transport, error.map { "\($0)" } ?? "the agent closed the session"))
    }
}
