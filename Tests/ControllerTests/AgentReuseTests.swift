import Foundation
import Testing
import TestSupport

/// One agent per host, user and agent hash: later invocations attach to the
/// running agent; `automation agents` lists and stops them.
@Suite("SSH agent reuse", .serialized, .requires(.sshd))
struct AgentReuseTests {
    @Test("three execs leave one agent; a dead agent's state file is replaced; agents --stop ends it")
    func oneAgentPerHost() async throws {
        let fixture = try AgentOnSSHHost()
        defer { fixture.cleanUp() }
        let (harness, agent, target) = (fixture.harness, fixture.agent, fixture.target)
        for round in 0..<3 {
            let exec = try await harness.run(["exec"] + target + ["--", "true"])
            #expect(exec.status == 0, "exec \(round): \(exec.stderr)")
        }
        let pids = agent.pids()
        #expect(pids.count == 1, "agents running: \(pids)")

        // --hash: the test user's home is shared with other suites running now; touch only this agent.
        let only = ["--hash", agent.hash]
        let listed = try await harness.run(["agents"] + target + only)
        #expect(listed.status == 0, "stderr: \(listed.stderr)")
        #expect(listed.stdout.contains("agent \(agent.hash.prefix(12)) pid \(pids.first ?? 0) port "))
        #expect(listed.stdout.contains("running"))

        // A killed agent leaves a stale state file: the next invocation starts a fresh agent and replaces it.
        for pid in pids { kill(pid, SIGKILL) }
        try await Task.sleep(for: .milliseconds(200))
        let again = try await harness.run(["exec"] + target + ["--", "true"])
        #expect(again.status == 0, "stderr: \(again.stderr)")
        let fresh = agent.pids()
        #expect(fresh.count == 1 && fresh != pids, "before \(pids), after \(fresh)")

        let stopped = try await harness.run(["agents", "--stop"] + target + only)
        #expect(stopped.status == 0, "stderr: \(stopped.stderr)")
        #expect(stopped.stdout.contains("pid \(fresh.first ?? 0) stopped"))
        #expect(await eventually(within: 30) { agent.pids().isEmpty }, "the agent did not exit after shutdown")
        let none = try await harness.run(["agents"] + target + only)
        #expect(none.stdout.contains(": no agents"), "stdout: \(none.stdout)")
    }

    @Test("--agent-idle-timeout reaches an agent already running (agent.configure): told 2 s, it exits once idle")
    func idleTimeoutApplied() async throws {
        let fixture = try AgentOnSSHHost()
        defer { fixture.cleanUp() }
        let (harness, agent, target) = (fixture.harness, fixture.agent, fixture.target)
        let first = try await harness.run(["exec"] + target + ["--agent-idle-timeout", "600", "--", "true"])
        #expect(first.status == 0, "stderr: \(first.stderr)")
        let pids = agent.pids()
        try #require(pids.count == 1, "agents: \(pids)")
        let again = try await harness.run(["exec"] + target + ["--agent-idle-timeout", "2", "--", "true"])
        #expect(again.status == 0, "stderr: \(again.stderr)")
        #expect(!again.stderr.contains("not applied"), "stderr: \(again.stderr)")
        #expect(agent.pids() == pids, "the exec attached to the running agent")
        #expect(await eventually(within: 60) { agent.pids().isEmpty }, "the agent kept its 600 s idle timeout")
    }
}
