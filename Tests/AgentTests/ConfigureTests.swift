import AgentProtocol
import AutomationKit
import Foundation
import Glibc
import Testing
import TestSupport

/// `agent.configure` (issue 21, finding 9): `--agent-idle-timeout` reaches an
/// agent that is already running instead of being silently ignored.
@Suite("agent.configure sets the running agent's idle timeout", .timeLimit(.minutes(5)))
struct ConfigureTests {
    @Test("a 600 s agent told 1 s exits once its last session ends")
    func idleTimeoutApplied() async throws {
        let server = try ListenerTests.Server(idleTimeout: "600")
        let client = try await server.connect(token: server.token)
        try await client.configure(ConfigureParams(idleTimeoutSeconds: 1))
        try await client.ping()
        #expect(server.process.isRunning, "the agent must not exit while a session is open")
        client.close()
        let exited = await eventually(within: 60) { !server.process.isRunning }
        #expect(exited, "the agent kept its 600 s idle timeout")
    }

    @Test("out-of-range values are refused with invalid_field; the agent serves on")
    func outOfRange() async throws {
        let server = try ListenerTests.Server(idleTimeout: "600")
        let client = try await server.connect(token: server.token)
        defer { client.close() }
        for seconds in [-1, 31_536_001, Int.max] {
            do {
                try await client.configure(ConfigureParams(idleTimeoutSeconds: seconds))
                Issue.record("idle timeout \(seconds) accepted")
            } catch let error as AgentClientError {
                #expect(error.kind == .remote(.invalidField), "\(seconds): \(error)")
            }
        }
        try await client.ping()
    }

    @Test("on stdio there is no idle timeout: invalid_field")
    func stdioRefuses() async throws {
        try await AgentHarness.withAgent { client in
            do {
                try await client.configure(ConfigureParams(idleTimeoutSeconds: 5))
                Issue.record("stdio agent accepted an idle timeout")
            } catch let error as AgentClientError {
                #expect(error.kind == .remote(.invalidField))
            }
        }
    }
}
