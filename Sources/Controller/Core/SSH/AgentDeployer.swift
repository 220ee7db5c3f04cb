import Foundation
import Logging
import SSH

/// Puts the agent binary on the remote host and starts it.
///
/// The binary lives at ~/.cache/automation/agent-<sha256>: the name is its
/// content hash, so a file already there is the right one and is not sent
/// again. Uploads go to a temporary name and are renamed into place, so a
/// broken transfer never leaves a half-written agent under the final name.
struct AgentDeployer {
    let session: SSHSession
    let configuration: SSHTargetConfiguration
    let logger: Logger

    static let directory = ".cache/automation"

    /// Makes sure the agent is on the host and starts it.
    ///
    /// When this state directory has already put this binary on this host, the
    /// start is tried first, without SFTP: a cached redeploy is then one exec.
    /// If that start fails (the file was removed or damaged), the SFTP path
    /// below repairs it and the agent is started once more.
    func deployAndStart() async throws -> RemoteAgentHost.Agent {
        let digest = try AgentBinaryHash.sha256(of: configuration.agentBinary, stateDirectory: configuration.stateDirectory)
        let records = DeployRecords(stateDirectory: configuration.stateDirectory)
        let path = "\(AgentDeployer.directory)/agent-\(digest)"
        if records.contains(session.endpoint, digest: digest) {
            do {
                return try await startAgent(at: path)
            } catch {
                logger.debug("ssh.agent.recorded-start-failed", metadata: ["ssh.host": "\(session.endpoint)", "error": "\(error)"])
                if session.terminalError != nil { throw error }
            }
        }
        let uploaded = try await deploy(digest: digest)
        records.add(session.endpoint, digest: digest)
        var agent = try await startAgent(at: path)
        agent.uploaded = uploaded
        return agent
    }

    /// Uploads the binary unless a file of the right size is already there.
    /// Returns whether it uploaded.
    func deploy(digest: String) async throws -> Bool {
        let binary = configuration.agentBinary
        let remote = "\(AgentDeployer.directory)/agent-\(digest)"
        let localSize = (try? FileManager.default.attributesOfItem(atPath: binary)[.size] as? UInt64) ?? nil
        let sftp = try await session.openSFTP()
        if let existing = try await sftp.stat(remote), existing.isRegularFile,
           existing.size == localSize, existing.permissions & 0o100 != 0 {
            logger.debug("ssh.agent.present", metadata: ["ssh.host": "\(session.endpoint)", "agent.path": "\(remote)"])
            return false
        }
        try await sftp.makeDirectories(AgentDeployer.directory, mode: 0o700)
        let temporary = "\(AgentDeployer.directory)/.agent-\(digest).\(UInt32.random(in: 0...UInt32.max)).tmp"
        do {
            try await sftp.upload(from: binary, to: temporary, mode: 0o755)
            do {
                try await sftp.rename(temporary, to: remote)
            } catch {
                // SFTP v3 rename (all libssh2 1.10 speaks) refuses to replace an
                // existing file. If a concurrent deploy (another controller, or a
                // host sharing this home directory) has just put the same content
                // there, it is already right: the name is its hash. Removing it
                // would pull it from under that deploy's exec.
                if let existing = try await sftp.stat(remote), existing.isRegularFile,
                   existing.size == localSize, existing.permissions & 0o100 != 0 {
                    try? await sftp.remove(temporary)
                    return false
                }
                // A damaged one is in the way: remove it first.
                try await sftp.remove(remote)
                try await sftp.rename(temporary, to: remote)
            }
        } catch {
            try? await sftp.remove(temporary)
            throw error
        }
        logger.debug("ssh.agent.uploaded", metadata: ["ssh.host": "\(session.endpoint)", "agent.path": "\(remote)"])
        return true
    }

    /// Attaches to the agent of this hash already running for this user
    /// (its state file names a live pid), else starts `serve` detached; reads
    /// the one JSON line either prints. `attach: false` always starts one.
    func startAgent(at path: String, attach: Bool = true) async throws -> RemoteAgentHost.Agent {
        // The path is hex and fixed text; the idle timeout is a number: nothing
        // user-controlled reaches the remote shell.
        let command = AgentStateFile.startCommand(agentPath: path, idleTimeout: configuration.agentIdleTimeout, attach: attach)
        let result = try await session.execute(command)
        let line = result.output.split(separator: "\n").first.map(String.init) ?? ""
        guard result.exitStatus == 0, let announcement = try? JSONDecoder().decode(Announcement.self, from: Data(line.utf8)) else {
            let stderr = String(decoding: result.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let status = result.exitSignal.map { "killed by SIG\($0)" } ?? "exit status \(result.exitStatus.map(String.init) ?? "unknown")"
            throw AgentClientError(.transport, """
                \(session.endpoint): the agent did not start (\(status))\(stderr.isEmpty ? "" : ": \(stderr)"). \
                Is \(configuration.agentBinary) built for this host's architecture and statically linked (deploy/build-agent.sh)?
                """)
        }
        var agent = RemoteAgentHost.Agent(port: announcement.port, token: announcement.token, pid: announcement.pid,
                                          path: path, uploaded: false)
        agent.attached = result.output.split(separator: "\n").dropFirst().contains(Substring(AgentStateFile.attachedMarker))
        return agent
    }

    private struct Announcement: Decodable {
        var port: Int
        var token: String
        var pid: Int
        var version: Int
    }
}
