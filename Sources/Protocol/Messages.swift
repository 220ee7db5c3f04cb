import FoundationEssentials

/// The controller's first line: who it is and the token that admits it.
public struct ControllerHello: Codable, Sendable, Equatable {
    public var version: Int
    public var token: String?
    public var client: String
    /// Flow-control window the controller asks for, in bytes; the agent may lower it.
    public var window: Int?
    /// Asks for a session the agent keeps through a dropped connection (listener only).
    public var resumable: Bool?
    /// Takes over an existing session instead of starting one.
    public var resume: ResumeRequest?

    public init(version: Int = ProtocolConstants.version, token: String?, client: String, window: Int? = nil,
                resumable: Bool? = nil, resume: ResumeRequest? = nil) {
        self.version = version
        self.token = token
        self.client = client
        self.window = window
        self.resumable = resumable
        self.resume = resume
    }
}

/// Which session a reconnecting controller takes over, and what it already has.
public struct ResumeRequest: Codable, Sendable, Equatable {
    /// The `session` of the agent's first hello.
    public var session: String
    /// The last `seq` the controller received; the agent resends everything after it.
    public var ack: UInt64

    public init(session: String, ack: UInt64) {
        self.session = session
        self.ack = ack
    }
}

/// The agent's side of a resumed session.
public struct ResumeInfo: Codable, Sendable, Equatable {
    /// The first `seq` the agent resends (the controller's ack + 1).
    public var from: UInt64
    /// The highest request id the agent has read in this session: the
    /// controller resends its unanswered requests above it, and the agent
    /// ignores any request at or below it.
    public var received: UInt64

    public init(from: UInt64, received: UInt64) {
        self.from = from
        self.received = received
    }
}

/// The agent's answer to a valid hello.
public struct AgentHello: Codable, Sendable, Equatable {
    public var version: Int
    public var agent: String
    public var session: String
    public var pid: Int32
    public var operations: [String]
    public var maxLine: Int
    public var window: Int
    /// For a resumable session: how long the agent keeps it after its connection drops.
    public var graceMs: Int?
    /// Set when this hello answers a `resume`.
    public var resumed: ResumeInfo?

    public init(version: Int, agent: String, session: String, pid: Int32, operations: [String], maxLine: Int, window: Int,
                graceMs: Int? = nil, resumed: ResumeInfo? = nil) {
        self.version = version
        self.agent = agent
        self.session = session
        self.pid = pid
        self.operations = operations
        self.maxLine = maxLine
        self.window = window
        self.graceMs = graceMs
        self.resumed = resumed
    }
}

/// A request: an id chosen by the controller, unique among its requests in flight.
public struct Request: Sendable, Equatable {
    public var id: UInt64
    public var body: RequestBody

    public init(id: UInt64, body: RequestBody) {
        self.id = id
        self.body = body
    }
}

/// An event streamed for a request before its reply.
public struct Event: Sendable, Equatable {
    public var id: UInt64
    public var seq: UInt64
    public var body: EventBody

    public init(id: UInt64, seq: UInt64, body: EventBody) {
        self.id = id
        self.seq = seq
        self.body = body
    }
}

/// The final answer to a request, or an error for a line that could not be
/// attributed to one (`id` is nil then).
public struct Reply: Sendable, Equatable {
    public var id: UInt64?
    public var seq: UInt64
    public var outcome: Result<ReplyBody, ProtocolError>

    public init(id: UInt64?, seq: UInt64, outcome: Result<ReplyBody, ProtocolError>) {
        self.id = id
        self.seq = seq
        self.outcome = outcome
    }
}

/// Everything the controller sends.
public enum ControllerMessage: Sendable, Equatable {
    case hello(ControllerHello)
    case request(Request)
    /// Everything up to and including `seq` has been received and may be
    /// forgotten; it also reopens the agent's flow-control window.
    case ack(seq: UInt64)
    /// The controller is done: the agent ends the session at once, as on EOF
    /// of a session that is not resumable (no grace period).
    case bye
}

/// Everything the agent sends.
public enum AgentMessage: Sendable, Equatable {
    case hello(AgentHello)
    case event(Event)
    case reply(Reply)

    /// The session sequence number, for messages that carry one.
    public var seq: UInt64? {
        switch self {
        case .hello: nil
        case .event(let event): event.seq
        case .reply(let reply): reply.seq
        }
    }
}
