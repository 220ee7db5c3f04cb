import AgentProtocol

/// Why a call to an agent failed.
public struct AgentClientError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The stream to the agent broke or closed: the agent or its host is gone.
        case transport
        /// The agent refused the session (version mismatch, bad token).
        case handshake
        /// The agent answered with an error for this request.
        case remote(ProtocolError.Code)
        /// The agent sent something this controller cannot understand.
        case protocolViolation
    }

    public var kind: Kind
    public var message: String
    /// The agent's error, for `.remote` and `.handshake`.
    public var remote: ProtocolError?
    /// The connection was accepted and then closed (or broke) before the
    /// agent's hello: the agent is alive but refused this connection (the
    /// listener's slots were full), as opposed to nothing listening.
    public var closedBeforeHello = false

    public init(_ kind: Kind, _ message: String, remote: ProtocolError? = nil) {
        self.kind = kind
        self.message = message
        self.remote = remote
    }

    static func remote(_ error: ProtocolError) -> AgentClientError {
        AgentClientError(.remote(error.code), error.message, remote: error)
    }

    /// The agent is there but has no room for this connection now (it said
    /// `busy`, or closed the connection before its hello): try again later
    /// rather than take it for gone.
    public var isBusy: Bool { remote?.code == .busy || closedBeforeHello }

    /// True when the failure is the infrastructure's, not the request's.
    public var isInfrastructure: Bool {
        switch kind {
        case .transport, .handshake, .protocolViolation: true
        case .remote: false
        }
    }

    public var description: String {
        switch kind {
        case .transport: "connection to agent lost: \(message)"
        case .handshake: "agent refused the session: \(message)"
        case .remote(let code): "\(message) [\(code.rawValue)]"
        case .protocolViolation: "agent protocol error: \(message)"
        }
    }
}
