import AgentProtocol
import Foundation
import Logging
import SSH

/// One SSH host with a running agent: one SSH connection, the agent uploaded
/// over SFTP if missing and started with one SSH exec, then any number of
/// agent sessions, each a direct-tcpip channel to the agent's loopback port.
public final class RemoteAgentHost: Sendable {
    /// Where the agent listens on the remote host, and how to get in.
    public struct Agent: Sendable {
        /// The agent's loopback port on the remote host.
        public var port: Int
        /// The token every session must present.
        public var token: String
        /// The agent's pid on the remote host.
        public var pid: Int
        /// The remote path of the agent binary.
        public var path: String
        /// Whether this connection uploaded the binary (false: it was already there).
        public var uploaded: Bool
        /// Whether this is an agent an earlier invocation started (found through its state file).
        public var attached = false
        /// The agent's idle timeout in seconds when it started, if its announcement says.
        public var idleTimeout: Double?
        /// Set when `--agent-idle-timeout` could not be applied to the agent
        /// attached to: the message saying so, and why.
        public var idleTimeoutNotApplied: String?
    }

    /// The SSH connection.
    public let session: SSHSession
    /// The running agent.
    public let agent: Agent
    let logger: Logger
    /// How long a new session waits for an agent that is alive but busy
    /// (its listener's slots full, as in a flood of connections that never
    /// say hello) before giving up with a `busy` error.
    let busyWithin: Double

    init(session: SSHSession, agent: Agent, logger: Logger, busyWithin: Double = 60) {
        self.session = session
        self.agent = agent
        self.logger = logger
        self.busyWithin = busyWithin
    }

    /// Connects, deploys the agent if needed and starts it.
    public static func start(_ endpoint: SSHEndpoint, configuration: SSHTargetConfiguration,
                             logger: Logger) async throws -> RemoteAgentHost {
        // Before any connection: a `swift build` agent would fail only once started there.
        try AgentBinary.requireStatic(configuration.agentBinary)
        let phases = PhaseRecorder.current
        phases?.begin(.connect)
        let session = try await SSHSession.connect(to: endpoint, configuration: configuration.ssh, logger: logger)
        phases?.end(.connect, host: endpoint.host)
        phases?.begin(.deploy)
        defer { phases?.end(.deploy, host: endpoint.host) }
        do {
            let deployer = AgentDeployer(session: session, configuration: configuration, logger: logger)
            var agent = try await deployer.deployAndStart()
            if agent.attached {
                // The state file named a live pid; make sure it is our agent and it answers.
                // An agent that is busy (it answered `busy`, or closed the
                // connection before its hello, while its pid lives) is ours and
                // stays: `openClient` waits for it, and a flood that outlasts
                // the wait fails this run rather than start a second agent
                // and overwrite its state file.
                do {
                    let client = try await RemoteAgentHost(session: session, agent: agent, logger: logger, busyWithin: configuration.agentBusyWithin)
                        .openClient()
                    defer { client.close() }
                    if configuration.agentIdleTimeoutExplicit {
                        agent.idleTimeoutNotApplied = await applyIdleTimeout(configuration.agentIdleTimeout, to: client, agent: agent, endpoint: endpoint)
                    }
                } catch {
                    logger.debug("ssh.agent.attach-failed", metadata: ["ssh.host": "\(endpoint)", "error": "\(error)"])
                    if session.terminalError != nil { throw error }
                    if let busy = error as? AgentClientError, busy.isBusy { throw error }
                    let digest = try AgentBinaryHash.sha256(of: configuration.agentBinary, stateDirectory: configuration.stateDirectory)
                    agent = try await deployer.startAgent(at: agent.path, digest: digest, attach: false)
                }
            }
            if agent.attached, let notice = agent.idleTimeoutNotApplied {
                FileHandle.standardError.write(Data((notice + "\n").utf8))
            }
            logger.debug("ssh.agent.started", metadata: [
                "ssh.host": "\(endpoint)", "agent.pid": "\(agent.pid)", "agent.port": "\(agent.port)",
                "agent.uploaded": "\(agent.uploaded)", "agent.attached": "\(agent.attached)",
            ])
            return RemoteAgentHost(session: session, agent: agent, logger: logger, busyWithin: configuration.agentBusyWithin)
        } catch {
            session.close()
            throw error
        }
    }

    /// Sets the idle timeout of an agent an earlier invocation started
    /// (`agent.configure`): nil when applied, else the message saying it
    /// was not and why (an agent from before issue 21, or a refusal).
    private static func applyIdleTimeout(_ seconds: Int, to client: AgentClient, agent: Agent, endpoint: SSHEndpoint) async -> String? {
        do {
            try await client.configure(ConfigureParams(idleTimeoutSeconds: seconds))
            return nil
        } catch {
            let reason = (error as? AgentClientError).map { error in
                error.kind == .remote(.unknownOperation) ? "that agent predates agent.configure" : error.message
            } ?? "\(error)"
            let keeps = agent.idleTimeout.map { $0 == 0 ? " of 0 (never)" : " of \(Int($0)) s" } ?? ""
            return """
                automation: \(endpoint): --agent-idle-timeout \(seconds) was not applied to the agent already running there \
                (pid \(agent.pid)): \(reason); it keeps its idle timeout\(keeps). Run `automation agents --stop` for this host \
                first to start one with it
                """
        }
    }

    /// Opens a new agent session through a direct-tcpip channel; with a
    /// reconnector the session is resumable.
    ///
    /// An agent that refuses the connection for want of a slot (`busy`, or a
    /// close before its hello) is asked again with backoff while its pid
    /// lives, for up to `busyWithin` seconds; then the error says it was busy.
    public func openClient(logger: Logger? = nil, reconnector: AgentReconnector? = nil) async throws -> AgentClient {
        let start = ContinuousClock.now
        var attempt = 0
        while true {
            do {
                return try await AgentClient.connect(transport: try await openTransport(), token: agent.token, reconnector: reconnector,
                                                     logger: logger ?? self.logger)
            } catch let error as AgentClientError where error.isBusy && session.terminalError == nil {
                attempt += 1
                let waited = ContinuousClock.now - start
                let elapsed = Double(waited.components.seconds) + Double(waited.components.attoseconds) / 1e18
                guard elapsed < busyWithin else {
                    var busy = AgentClientError(.transport, """
                        \(session.endpoint): the agent (pid \(agent.pid)) is running but busy: it refused every connection \
                        for \(String(format: "%.0f", elapsed)) s (\(error.message)). Too many connections are waiting for \
                        their hello on its port (a local user flooding it?); try again when that ends
                        """, remote: ProtocolError(.busy, error.message))
                    busy.closedBeforeHello = true
                    throw busy
                }
                (logger ?? self.logger).debug("ssh.agent.busy", metadata: ["ssh.host": "\(session.endpoint)", "agent.pid": "\(agent.pid)", "error": "\(error.message)"])
                try await Task.sleep(for: .milliseconds(Int64(min(AgentReconnector.backoff(attempt: attempt), busyWithin - elapsed) * 1000)))
                // Busy is worth waiting for only while the agent lives.
                let alive = try await session.execute("kill -0 \(agent.pid)")
                guard alive.exitStatus == 0 else {
                    throw AgentClientError(.transport, "\(session.endpoint): the agent (pid \(agent.pid)) exited while its listener refused connections")
                }
            }
        }
    }

    /// A direct-tcpip channel to the agent's port, as a transport.
    func openTransport() async throws -> any AgentTransport {
        do {
            return SSHTunnelTransport(channel: try await session.openDirectTCPIP(host: "127.0.0.1", port: agent.port))
        } catch let error as SSHError {
            throw AgentClientError(.transport, error.message)
        }
    }

    /// How a session on this host's agent comes back after its connection
    /// drops: through the pool, which makes a new SSH connection when this
    /// one is broken and finds the agent through its state file. A host
    /// whose agent is no longer the same one (restarted, or not listening
    /// while SSH works) has lost the session for good.
    func reconnector(endpoint: SSHEndpoint, configuration: SSHTargetConfiguration, label: String,
                     pool: SSHHostPool, logger: Logger) -> AgentReconnector {
        let original = agent
        return AgentReconnector(label: label, token: original.token, onReconnect: { label, seconds in
            let line = String(format: "automation: reconnected to %@ after %.1f s; the session resumed where it was\n", label, seconds)
            FileHandle.standardError.write(Data(line.utf8))
        }, open: {
            let host = try await pool.host(endpoint, configuration: configuration, logger: logger)
            guard host.agent.pid == original.pid, host.agent.port == original.port else {
                throw AgentReconnector.Gone("the agent that ran the session (pid \(original.pid)) is gone; \(endpoint) now runs pid \(host.agent.pid)")
            }
            do {
                return try await host.openTransport()
            } catch {
                // SSH works but nothing listens on the agent's port: the agent died.
                if host.session.terminalError == nil {
                    throw AgentReconnector.Gone("the agent (pid \(original.pid)) no longer listens on its port: \(error)")
                }
                throw error
            }
        })
    }

    /// Closes the SSH connection (the agent stays until its idle timeout).
    public func close() { session.close() }
}
