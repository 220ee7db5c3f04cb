import AgentProtocol
import AutomationKit
import Foundation
import Logging
import SSH
import TestSupport

/// Starts the agent on a fixture sshd through `RemoteAgentHost`, and cleans
/// up: closes the connection, kills remote agents by the pids they announced,
/// removes the state directory.
final class AgentHostFixture: @unchecked Sendable {
    let sshd: SSHDFixture
    let stateDirectory: String
    private let lock = NSLock()
    private var agentPids: [Int] = []
    private var hosts: [RemoteAgentHost] = []

    init(sshd: SSHDFixture) {
        self.sshd = sshd
        stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString.prefix(8))").path
    }

    static func with<T>(logLevel: String = "DEBUG1", _ body: (AgentHostFixture) async throws -> T) async throws -> T {
        try await SSHDFixture.with(logLevel: logLevel) { sshd in
            let fixture = AgentHostFixture(sshd: sshd)
            defer { fixture.cleanUp() }
            return try await body(fixture)
        }
    }

    func configuration(agentBinary: String? = nil) throws -> SSHTargetConfiguration {
        SSHTargetConfiguration(ssh: try sshd.configuration(), agentBinary: try agentBinary ?? BuiltProducts.agent(),
                               stateDirectory: stateDirectory, agentIdleTimeout: 120)
    }

    func start(agentBinary: String? = nil) async throws -> RemoteAgentHost {
        let host = try await RemoteAgentHost.start(sshd.endpoint, configuration: configuration(agentBinary: agentBinary),
                                                   logger: Logger(label: "test"))
        record(host)
        return host
    }

    private func record(_ host: RemoteAgentHost) {
        lock.lock()
        // An agent it attached to belongs to whoever started it (another test may be using it).
        if !host.agent.attached { agentPids.append(host.agent.pid) }
        hosts.append(host)
        lock.unlock()
    }

    /// The user's agent cache on the "remote" host.
    var remoteCache: String { sshd.home + "/.cache/automation" }

    func cleanUp() {
        lock.lock()
        let pids = agentPids
        let hosts = self.hosts
        lock.unlock()
        for host in hosts { host.close() }
        // Only the agents this fixture started: other tests may share the
        // test user and its agent cache. Agents started through the CLI end
        // by their short idle timeout.
        for pid in pids { kill(pid_t(pid), SIGTERM) }
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }
}
