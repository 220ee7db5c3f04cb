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
    }

    /// The SSH connection.
    public let session: SSHSession
    /// The running agent.
    public let agent: Agent
    let logger: Logger

    init(session: SSHSession, agent: Agent, logger: Logger) {
        self.session = session
        self.agent = agent
        self.logger = logger
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
                do {
                    try await RemoteAgentHost(session: session, agent: agent, logger: logger).openClient().close()
                } catch {
                    logger.debug("ssh.agent.attach-failed", metadata: ["ssh.host": "\(endpoint)", "error": "\(error)"])
                    if session.terminalError != nil { throw error }
                    let digest = try AgentBinaryHash.sha256(of: configuration.agentBinary, stateDirectory: configuration.stateDirectory)
                    agent = try await deployer.startAgent(at: agent.path, digest: digest, attach: false)
                }
            }
            logger.debug("ssh.agent.started", metadata: [
                "ssh.host": "\(endpoint)", "agent.pid": "\(agent.pid)", "agent.port": "\(agent.port)",
                "agent.uploaded": "\(agent.uploaded)", "agent.attached": "\(agent.attached)",
            ])
            return RemoteAgentHost(session: session, agent: agent, logger: logger)
        } catch {
            session.close()
            throw error
        }
    }

    /// Opens a new agent session through a direct-tcpip channel; with a
    /// reconnector the session is resumable.
    public func openClient(logger: Logger? = nil, reconnector: AgentReconnector? = nil) async throws -> AgentClient {
        try await AgentClient.connect(transport: try await openTransport(), token: agent.token, reconnector: reconnector,
                                      logger: logger ?? self.logger)
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
