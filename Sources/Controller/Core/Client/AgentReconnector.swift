/// How an `AgentClient` gets back to its agent after the connection drops
/// (docs/protocol.md, "Reconnect and resume"): a new transport to the same
/// agent, for example a new SSH connection and tunnel to the agent its
/// state file names.
public struct AgentReconnector: Sendable {
    /// Opens a new transport to the same agent; throws `AgentReconnector.Gone`
    /// when trying again cannot help (the agent was replaced).
    public var open: @Sendable () async throws -> any AgentTransport
    /// The token the new connection presents.
    public var token: String?
    /// What the messages call the agent ("ssh://hg@host").
    public var label: String
    /// The longest outage to ride out, in seconds; the agent's grace period
    /// bounds it too.
    public var within: Double
    /// Called with the outage's length after each successful resume.
    public var onReconnect: (@Sendable (_ label: String, _ seconds: Double) -> Void)?

    public init(label: String, token: String?, within: Double = 60,
                onReconnect: (@Sendable (_ label: String, _ seconds: Double) -> Void)? = nil,
                open: @escaping @Sendable () async throws -> any AgentTransport) {
        self.label = label
        self.token = token
        self.within = within
        self.onReconnect = onReconnect
        self.open = open
    }

    /// The agent the session lived in is not there any more: no point trying again.
    public struct Gone: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// Seconds to wait before attempt `attempt` (1-based): exponential from
    /// 0.1 s, at most 2 s, with up to half of it random so that many
    /// controllers cut off together do not come back in lockstep.
    public static func backoff(attempt: Int, random: Double = Double.random(in: 0...1)) -> Double {
        let base = min(2.0, 0.1 * Double(1 << min(max(attempt - 1, 0), 10)))
        return base * (0.5 + 0.5 * min(max(random, 0), 1))
    }
}
