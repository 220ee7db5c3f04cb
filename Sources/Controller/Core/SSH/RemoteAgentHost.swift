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

    /// Opens a new agent session through a direct-tcpip channel.
    public func openClient(logger: Logger? = nil) async throws -> AgentClient {
        let channel: SSHChannel
        do {
            channel = try await session.openDirectTCPIP(host: "127.0.0.1", port: agent.port)
        } catch let error as SSHError {
            throw AgentClientError(.transport, error.message)
        }
        return try await AgentClient.connect(transport: SSHTunnelTransport(channel: channel), token: agent.token, logger: logger ?? self.logger)
    }

    /// Closes the SSH connection (the agent stays until its idle timeout).
    public func close() { session.close() }
}
