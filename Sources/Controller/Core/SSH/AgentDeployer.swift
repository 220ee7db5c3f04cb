import Foundation
import Logging
import SSH

/// Puts the agent binary on the remote host and starts it.
///
/// The binary lives at ~/.cache/automation/agent-<sha256>: the name is its
/// content hash, so a file already there is the right one and is not sent
/// again. Uploads go to a temporary name and are renamed into place, so a
/// broken transfer never leaves a half-written agent under the final name.
/// Before it is run, the remote file is checked against that SHA-256 on the
/// host (in the same exec that starts it), so a file damaged or swapped after
/// the upload, even one of the right size, is never executed: it is replaced.
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
        var replace = false
        if records.contains(session.endpoint, digest: digest) {
            do {
                return try await startAgent(at: path, digest: digest)
            } catch is DigestMismatch {
                replace = true
            } catch {
                logger.debug("ssh.agent.recorded-start-failed", metadata: ["ssh.host": "\(session.endpoint)", "error": "\(error)"])
                if session.terminalError != nil { throw error }
            }
        }
        while true {
            let uploaded = try await deploy(digest: digest, replace: replace)
            records.add(session.endpoint, digest: digest)
            do {
                var agent = try await startAgent(at: path, digest: digest)
                agent.uploaded = uploaded
                return agent
            } catch let mismatch as DigestMismatch {
                // Right size, wrong content: replace it once; a fresh upload that
                // does not match is a fault on the host, reported as such.
                guard !uploaded, !replace else { throw mismatch.error(endpoint: "\(session.endpoint)") }
                logger.info("ssh.agent.digest-mismatch", metadata: ["ssh.host": "\(session.endpoint)", "agent.path": "\(path)"])
                replace = true
            }
        }
    }

    /// The remote file's SHA-256 is not the one its name promises.
    struct DigestMismatch: Error {
        var path: String
        func error(endpoint: String) -> AgentClientError {
            AgentClientError(.transport, """
                \(endpoint): ~/\(path) does not match its SHA-256 even after a fresh upload; \
                something on the host changes it (check the disk and who else writes to ~/\(AgentDeployer.directory))
                """)
        }
    }

    /// Uploads the binary unless a file of the right size is already there
    /// (or `replace`: its content was found wrong). Returns whether it uploaded.
    func deploy(digest: String, replace: Bool = false) async throws -> Bool {
        let binary = configuration.agentBinary
        let remote = "\(AgentDeployer.directory)/agent-\(digest)"
        let localSize = (try? FileManager.default.attributesOfItem(atPath: binary)[.size] as? UInt64) ?? nil
        let sftp = try await session.openSFTP()
        if !replace, let existing = try await sftp.stat(remote), existing.isRegularFile,
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
                if !replace, let existing = try await sftp.stat(remote), existing.isRegularFile,
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

    /// Exit status of the start command when the file's SHA-256 is wrong.
    static let mismatchStatus: Int32 = 97

    /// Attaches to the agent of this hash already running for this user (its
    /// state file names a live pid), else checks the file's SHA-256 on the host
    /// and starts `serve` detached; reads the one JSON line either prints, in
    /// one exec. `attach: false` always starts one.
    func startAgent(at path: String, digest: String, attach: Bool = true) async throws -> RemoteAgentHost.Agent {
        // The path and digest are hex and fixed text; the idle timeout is a
        // number: nothing user-controlled reaches the remote shell.
        let command = AgentStateFile.startCommand(agentPath: path, digest: digest, mismatchStatus: Self.mismatchStatus,
                                                  idleTimeout: configuration.agentIdleTimeout,
                                                  powerOffWhenIdle: configuration.agentPowerOffWhenIdle, attach: attach)
        let result = try await session.execute(command)
        if result.exitStatus == Self.mismatchStatus { throw DigestMismatch(path: path) }
        let line = result.output.split(separator: "\n").first.map(String.init) ?? ""
        guard result.exitStatus == 0, let announcement = try? JSONDecoder().decode(Announcement.self, from: Data(line.utf8)) else {
            throw await startFailure(result)
        }
        var agent = RemoteAgentHost.Agent(port: announcement.port, token: announcement.token, pid: announcement.pid,
                                          path: path, uploaded: false)
        agent.attached = result.output.split(separator: "\n").dropFirst().contains(Substring(AgentStateFile.attachedMarker))
        agent.idleTimeout = announcement.idleTimeout
        return agent
    }

    /// The agent ran its start command and did not start: the loader's or the shell's
    /// message, and what to do. Not worth retrying: the same binary fails the same way.
    private func startFailure(_ result: SSHExecResult) async -> AgentStartError {
        let stderr = String(decoding: result.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let status = result.exitSignal.map { "killed by SIG\($0)" } ?? "exit status \(result.exitStatus.map(String.init) ?? "unknown")"
        var hint = "Is \(configuration.agentBinary) built for this host's architecture and statically linked (deploy/build-agent.sh)?"
        if let info = try? AgentBinary.elfInfo(atPath: configuration.agentBinary),
           let uname = try? await session.execute("uname -m"), uname.exitStatus == 0 {
            let host = uname.output.trimmingCharacters(in: .whitespacesAndNewlines)
            let arm = ["aarch64", "arm64"]
            if !host.isEmpty, host != info.machineName, !(arm.contains(host) && arm.contains(info.machineName)) {
                hint = "The host is \(host) and \(configuration.agentBinary) is built for \(info.machineName): use an \(info.machineName) host."
            } else if result.exitStatus == 126 {
                hint = "The host could not execute ~/\(AgentDeployer.directory)/agent-*: is the home directory mounted noexec?"
            }
        }
        return AgentStartError(message: """
            \(session.endpoint): the agent did not start (\(status))\(stderr.isEmpty ? "" : ": \(stderr)"). \(hint)
            """)
    }

    private struct Announcement: Decodable {
        var port: Int
        var token: String
        var pid: Int
        var version: Int
        /// Seconds, as the agent started; absent from agents before issue 21.
        var idleTimeout: Double?
    }
}

/// The agent's start command ran on the host and the agent did not start (a loader
/// error, a wrong architecture, a noexec home): retrying cannot help, so callers that
/// wait for a host to come up (a booting instance) stop at once with this message.
public struct AgentStartError: Error, CustomStringConvertible, Sendable {
    /// The host, the exit status, the loader's or shell's message and what to do.
    public var message: String
    public var description: String { message }
}
