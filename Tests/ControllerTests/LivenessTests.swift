@testable import AutomationKit
import AgentProtocol
import Foundation
import Logging
import Testing
import TestSupport

/// The pieces that keep a run from hanging on a peer that never answers,
/// against a real local agent.
@Suite("Liveness")
struct LivenessTests {
    static func agent() async throws -> AgentClient {
        try await LocalAgent.connect(binary: try BuiltProducts.agent(), logger: Logger(label: "liveness-test"))
    }

    @Test("Deadline.race: the value when in time, nil when late (without waiting for the late one), errors rethrown")
    func deadline() async throws {
        #expect(try await Deadline.race(seconds: 30) { 7 } == 7)
        let started = ContinuousClock.now
        let late = try await Deadline.race(seconds: 0.2) { () async throws -> Int in
            try await Task.sleep(for: .seconds(3600))
            return 1
        }
        #expect(late == nil)
        #expect(ContinuousClock.now - started < .seconds(120), "hang detector")
        struct Boom: Error {}
        await #expect(throws: Boom.self) { _ = try await Deadline.race(seconds: 30) { () async throws -> Int in throw Boom() } }
    }

    @Test("a stopped agent: ping(within:) gives nil; abandon fails a running exec at once")
    func stoppedAgent() async throws {
        let client = try await Self.agent()
        defer { client.close() }
        let pid = client.agentHello.pid
        #expect(try await client.ping(within: 30) != nil)
        let call = try client.exec(ExecParams(argv: ["sleep", "30"]))
        kill(pid, SIGSTOP)
        defer { kill(pid, SIGCONT) }
        #expect(try await client.ping(within: 0.5) == nil)
        client.abandon("test: agent stopped")
        await #expect(throws: AgentClientError.self) { _ = try await call.result() }
        await #expect(throws: AgentClientError.self) { try await client.ping() }
    }

    @Test("SlotExec.enforce cancels an exec that made no progress past the limit, and says so")
    func enforce() async throws {
        let client = try await Self.agent()
        defer { client.close() }
        let current = SlotExec()
        // Long enough that the cancel (sent from a task) lands even when other suites keep the pool busy.
        let call = try current.start(client, ExecParams(argv: ["sleep", "600"], killGraceMs: 500))
        #expect(!current.enforce(limit: 3600))
        try await Task.sleep(for: .milliseconds(1100))
        #expect(current.enforce(limit: 1))
        #expect(!current.enforce(limit: 1), "cancelled once")
        let result = try await call.result()
        #expect(result.cancelled)
        #expect(result.exitCode == nil)
        #expect(current.endedByController)
        current.finished()
        #expect(!current.cancel(), "nothing left to cancel")
    }
}
