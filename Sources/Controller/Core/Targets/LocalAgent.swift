import CAgentSupport
import Descriptors
import Foundation
import Glibc
import Logging

/// Starts `automation-agent --stdio` on this machine and connects to it.
public enum LocalAgent {
    public static func connect(binary: String, logger: Logger) async throws -> AgentClient {
        try await connect(command: [binary], logger: logger)
    }

    private static func pipe() throws -> PipeEnds {
        do {
            return try FileDescriptor.pipe()
        } catch {
            throw POSIXFailure("pipe", error.code)
        }
    }

    /// Runs `command + ["--stdio"]`; the command may wrap the agent (setpriv, sudo, env).
    public static func connect(command: [String], logger: Logger) async throws -> AgentClient {
        let binary = command[0]
        // Close-on-exec from birth: a pipe end that leaks into a sibling agent
        // started concurrently would hide this agent's exit (no EOF).
        // Each end has one owner (the same type the agent's spawner uses): the
        // child's ends close when this returns, whatever happens.
        let toChild = try pipe()
        let fromChild = try pipe()

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild.read.rawValue, 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild.write.rawValue, 1)
        // Nothing else of ours reaches the agent, not even what another thread
        // opened without close-on-exec a moment ago (Foundation's Process does:
        // its exit-watch socket, held by our agent, would hang that process's wait).
        _ = cagent_spawn_file_actions_addclosefrom(&actions, 3)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // Its own process group: a Ctrl-C aimed at the controller reaches the
        // agent's children only through a cancel, never behind our back.
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP))

        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = (command + ["--stdio"]).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let rc = posix_spawn(&pid, binary, &actions, &attr, argv, environ)
        // The child's ends go now, not when this function returns: while we
        // held them, an agent that died before its hello would never show EOF.
        toChild.read.closeQuietly()
        fromChild.write.closeQuietly()
        guard rc == 0 else {
            throw AgentClientError(.transport, "cannot start agent \(binary): \(String(cString: strerror(rc)))")
        }
        let agentPID = pid
        // The transport owns our ends from here and closes each once.
        let transport = PipeTransport(readFD: fromChild.read.release(), writeFD: toChild.write.release()) {
            var status: Int32 = 0
            _ = waitpid(agentPID, &status, 0)
        }
        logger.debug("started local agent", metadata: ["agent.pid": "\(pid)", "agent.binary": "\(binary)"])
        return try await AgentClient.connect(transport: transport, token: nil, logger: logger)
    }
}
