import AgentProtocol
import AutomationKit
import Foundation
import Glibc
import Testing
import TestSupport

/// Issue 21, finding 9: the processes of an agent that was SIGKILLed kept
/// running (a test went on under a dead agent while it was re-run
/// elsewhere). The agent's keeper now kills every process group the agent
/// started when the agent dies, however it dies.
@Suite("no orphans when the agent is killed", .timeLimit(.minutes(5)))
struct OrphanTests {
    /// The children of `pid` (any thread), from /proc.
    static func children(of pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "")
                .split(separator: " ").compactMap { Int32($0) }
        }
    }

    static func commandName(_ pid: Int32) -> String {
        ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("SIGKILL of the agent: a running shell and the background child it started die too, and the keeper exits")
    func sigkillTakesTheTree() async throws {
        let server = try ListenerTests.Server()
        let agentPid = server.process.processIdentifier
        let client = try await server.connect(token: server.token)
        defer { client.close() }
        // The shell stays (it waits); its background child is a grandchild of the agent, in the exec's process group.
        let call = try client.exec(.shell("sleep 600 & echo $$ $!; wait"))
        var output = Data()
        for try await chunk in call where chunk.stream == .stdout {
            output += chunk.data
            if output.contains(0x0A) { break }
        }
        let pids = String(decoding: output, as: UTF8.self).split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
        try #require(pids.count == 2, "the shell printed \(String(decoding: output, as: UTF8.self))")
        // Whatever happens below, nothing of this test outlives it.
        defer { for pid in pids { kill(pid, SIGKILL) } }
        #expect(pids.allSatisfy(AgentHarness.isAlive))
        let keepers = Self.children(of: agentPid).filter { Self.commandName($0) == "agent-keeper" }
        #expect(keepers.count == 1, "the agent's children: \(Self.children(of: agentPid).map { "\($0) \(Self.commandName($0))" })")
        defer { for pid in keepers { kill(pid, SIGKILL) } }

        kill(agentPid, SIGKILL)
        let gone = await eventually(within: 30) { !pids.contains(where: AgentHarness.isAlive) }
        #expect(gone, "still running after the agent was killed: \(pids.filter(AgentHarness.isAlive))")
        let keeperGone = await eventually(within: 30) { !keepers.contains(where: AgentHarness.isAlive) }
        #expect(keeperGone, "the keeper outlived its work")
    }

    @Test("a killed keeper is replaced and still guards what was already running")
    func keeperReplaced() async throws {
        let server = try ListenerTests.Server()
        let agentPid = server.process.processIdentifier
        let client = try await server.connect(token: server.token)
        defer { client.close() }
        let call = try client.exec(.shell("sleep 600 & echo $!; wait"))
        var output = Data()
        for try await chunk in call where chunk.stream == .stdout {
            output += chunk.data
            if output.contains(0x0A) { break }
        }
        let child = try #require(Int32(String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(child, SIGKILL) }
        let first = Self.children(of: agentPid).filter { Self.commandName($0) == "agent-keeper" }
        try #require(first.count == 1)
        kill(first[0], SIGKILL)
        let replaced = await eventually(within: 30) {
            Self.children(of: agentPid).contains { Self.commandName($0) == "agent-keeper" && !first.contains($0) }
        }
        #expect(replaced, "no new keeper")
        let second = Self.children(of: agentPid).filter { Self.commandName($0) == "agent-keeper" && !first.contains($0) }
        defer { for pid in second { kill(pid, SIGKILL) } }
        kill(agentPid, SIGKILL)
        #expect(await eventually(within: 30) { !AgentHarness.isAlive(child) }, "the background child outlived the agent")
    }
}
