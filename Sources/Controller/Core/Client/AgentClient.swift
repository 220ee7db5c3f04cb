import AgentProtocol
import Dispatch
import FoundationEssentials
import Logging
import Synchronization

/// A session with one agent over any `AgentTransport`: many requests in flight,
/// replies matched by id, exec output streamed, flow control acknowledged.
public final class AgentClient: TransportSink, Sendable {
    /// What the agent said about itself in its hello.
    public var agentHello: AgentHello { hello.withLock { $0! } }

    let transport: any AgentTransport
    let logger: Logger
    private let state = Mutex(State())
    private let hello = Mutex<AgentHello?>(nil)
    private let encoder = Mutex(MessageCodec())
    /// Every line goes out through this serial queue, in order: a transport
    /// write that blocks (a full SSH window, a full pipe) blocks one of its
    /// threads, never the cooperative pool, whose 2 threads on a 2-core host
    /// would otherwise stall every task in the process.
    private let outbox = DispatchQueue(label: "automation.agent-client.outbox")
    /// Touched only from `transportReceived`, which a transport never calls concurrently.
    nonisolated(unsafe) private var framer = LineFramer()
    nonisolated(unsafe) private var decoder = MessageCodec()

    private struct State {
        var nextID: UInt64 = 1
        var calls: [UInt64: CheckedContinuation<ReplyBody, any Error>] = [:]
        var execs: [UInt64: ExecCall] = [:]
        var handshake: CheckedContinuation<AgentHello, any Error>?
        var closed: AgentClientError?
        var receivedSeq: UInt64 = 0
        var bytesSinceAck = 0
        var bufferedBytes = 0
        var window = ProtocolConstants.defaultWindow
    }

    private init(transport: any AgentTransport, logger: Logger) {
        self.transport = transport
        self.logger = logger
    }

    /// Starts the transport and performs the hello exchange.
    public static func connect(transport: any AgentTransport, token: String?, logger: Logger) async throws -> AgentClient {
        let client = AgentClient(transport: transport, logger: logger)
        let agentHello: AgentHello = try await withCheckedThrowingContinuation { waiter in
            client.state.withLock { $0.handshake = waiter }
            transport.start(client)
            let hello = ControllerHello(token: token, client: "automation \(AutomationVersion.current)")
            do {
                try client.write(.hello(hello))
            } catch {
                client.fail(AgentClientError(.transport, "cannot send hello: \(error)"))
            }
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

    // MARK: Requests

    /// Sends a request and waits for its reply. For exec, use `exec(_:)`.
    public func call(_ body: RequestBody) async throws -> ReplyBody {
        try await withCheckedThrowingContinuation { waiter in
            let id: UInt64? = state.withLock { state in
                if state.closed != nil { return nil }
                let id = state.nextID
                state.nextID += 1
                state.calls[id] = waiter
                return id
            }
            guard let id else {
                return waiter.resume(throwing: state.withLock { $0.closed! })
            }
            let fail: @Sendable ((any Error)?) -> Void = { [self] error in
                guard let error, let waiter = state.withLock({ $0.calls.removeValue(forKey: id) }) else { return }
                waiter.resume(throwing: error)
            }
            do {
                try write(.request(Request(id: id, body: body)), sent: fail)
            } catch {
                fail(error)
            }
        }
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
        let call: ExecCall = try state.withLock { state in
            if let closed = state.closed { throw closed }
            let id = state.nextID
            state.nextID += 1
            let call = ExecCall(id: id, client: self)
            state.execs[id] = call
            return call
        }
        do {
            try write(.request(Request(id: call.id, body: .exec(params))))
        } catch {
            state.withLock { _ = $0.execs.removeValue(forKey: call.id) }
            throw error
        }
        if let streamed { call.feedStdinInBackground(streamed) }
        return call
    }

    /// Inline exec stdin above this is streamed with `exec.stdin` instead.
    static let inlineStdinLimit = 64 * 1024

    /// Closes the session; the agent stops whatever it still runs for it.
    /// Lines already queued go out first; a transport stuck in a write is
    /// closed anyway after 2 s.
    public func close() {
        let transport = self.transport
        outbox.async { transport.close() }
        DispatchQueue.global().asyncAfter(deadline: .now() + 2) { transport.close() }
    }

    /// Queues a line for the transport and returns at once (only encoding
    /// fails here: a message over the line limit). `sent` runs on the outbox
    /// queue once the transport took the bytes, or with the error that broke
    /// it (which also fails the whole session).
    private func write(_ message: ControllerMessage, sent: (@Sendable ((any Error)?) -> Void)? = nil) throws {
        let line = try encoder.withLock { try $0.encodeLine(message) }
        outbox.async { [self] in
            do {
                try transport.send(line)
                sent?(nil)
            } catch {
                let failure = AgentClientError(.transport, "\(error)")
                sent?(failure)
                fail(failure)
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
        if let ack { try? write(.ack(seq: ack)) }
    }

    /// Acknowledge once a quarter window arrived, unless consumers lag behind:
    /// then the agent's window stays closed until they catch up.
    private static func ackDue(_ state: inout State) -> UInt64? {
        guard state.bytesSinceAck >= state.window / 4, state.bufferedBytes < state.window else { return nil }
        state.bytesSinceAck = 0
        return state.receivedSeq
    }

    // MARK: TransportSink

    public func transportReceived(_ bytes: UnsafeRawBufferPointer) {
        framer.push(bytes) { item in
            switch item {
            case .line(let line) where LineFramer.isBlank(line):
                break
            case .line(let line):
                switch decoder.decodeAgentLine(line) {
                case .success(let message): handle(message, size: line.count + 1)
                case .failure(let failure):
                    fail(AgentClientError(.protocolViolation, "undecodable message from agent: \(failure.error)"))
                }
            case .oversized(let length):
                fail(AgentClientError(.protocolViolation, "agent sent a line of \(length) bytes"))
            }
        }
    }

    public func transportClosed(error: (any Error)?) {
        fail(AgentClientError(.transport, error.map { "\($0)" } ?? "the agent closed the session"))
    }

    private func handle(_ message: AgentMessage, size: Int) {
        switch message {
        case .hello(let hello):
            let waiter = state.withLock { state in
                defer { state.handshake = nil }
                return state.handshake
            }
            waiter?.resume(returning: hello)
        case .event(let event):
            guard case .output(let output) = event.body else { return }
            let (call, ack) = state.withLock { state in
                state.receivedSeq = event.seq
                state.bytesSinceAck += size
                let call = state.execs[event.id]
                if call != nil { state.bufferedBytes += output.data.count }
                return (call, Self.ackDue(&state))
            }
            call?.deliver(output)
            if let ack { try? write(.ack(seq: ack)) }
        case .reply(let reply):
            handle(reply, size: size)
        }
    }

    private func handle(_ reply: Reply, size: Int) {
        let (handshake, call, exec, ack) = state.withLock { state in
            state.receivedSeq = reply.seq
            state.bytesSinceAck += size
            let handshake = state.handshake
            state.handshake = nil
            let call = reply.id.flatMap { state.calls.removeValue(forKey: $0) }
            let exec = reply.id.flatMap { state.execs.removeValue(forKey: $0) }
            return (handshake, call, exec, Self.ackDue(&state))
        }
        if let ack { try? write(.ack(seq: ack)) }
        if let handshake {
            // The only reply possible before the hello is a refusal.
            let error: AgentClientError
            if case .failure(let refusal) = reply.outcome {
                error = AgentClientError(.handshake, refusal.message, remote: refusal)
            } else {
                error = AgentClientError(.protocolViolation, "reply before hello")
            }
            handshake.resume(throwing: error)
            fail(error)
            return
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
        let (handshake, calls, execs) = state.withLock { state in
            if state.closed == nil { state.closed = error }
            defer {
                state.handshake = nil
                state.calls = [:]
                state.execs = [:]
            }
            return (state.handshake, state.calls, state.execs)
        }
        handshake?.resume(throwing: error)
        for waiter in calls.values { waiter.resume(throwing: error) }
        for exec in execs.values { exec.finish(.failure(error)) }
        transport.close()
    }
}
