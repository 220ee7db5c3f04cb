import AgentProtocol
import AutomationKit
import Foundation
import Testing
import TestSupport

@Suite("exec through the real agent", .timeLimit(.minutes(5)))
struct ExecTests {
    @Test("exit status, signal, stdout and stderr")
    func basics() async throws {
        try await AgentHarness.withAgent { agent in
            let run = try await agent.run(.shell("echo out; echo err >&2; exit 7"))
            #expect(run.result.exitCode == 7)
            #expect(run.result.signal == nil)
            #expect(text(run.stdout) == "out\n")
            #expect(text(run.stderr) == "err\n")
            let killed = try await agent.run(.shell("kill -9 $$"))
            #expect(killed.result.exitCode == nil)
            #expect(killed.result.signal == 9)
            #expect(killed.result.shellStatus == 137)
        }
    }

    @Test("50 concurrent execs in one session")
    func fiftyConcurrent() async throws {
        try await AgentHarness.withAgent { agent in
            try await withThrowingTaskGroup(of: (Int, String, Int32?).self) { group in
                for i in 0..<50 {
                    group.addTask {
                        let run = try await agent.run(.shell("echo start \(i); sleep 0.3; echo end \(i); exit \(i % 5)"))
                        return (i, text(run.stdout), run.result.exitCode)
                    }
                }
                var seen = Set<Int>()
                for try await (i, out, code) in group {
                    #expect(out == "start \(i)\nend \(i)\n")
                    #expect(code == Int32(i % 5))
                    seen.insert(i)
                }
                #expect(seen.count == 50)
            }
        }
    }

    @Test("each stream keeps its order")
    func ordering() async throws {
        try await AgentHarness.withAgent { agent in
            let run = try await agent.run(.shell("i=1; while [ $i -le 3000 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done"))
            #expect(text(run.stdout).split(separator: "\n").map(String.init) == (1...3000).map { "out\($0)" })
            #expect(text(run.stderr).split(separator: "\n").map(String.init) == (1...3000).map { "err\($0)" })
        }
    }

    @Test("100 MB of output with bounded agent memory, and a slow reader pauses the writer")
    func largeOutputBoundedMemory() async throws {
        try await AgentHarness.withAgent { agent in
            let pid = agent.agentHello.pid
            let call = try agent.exec(ExecParams(argv: ["head", "-c", "104857600", "/dev/zero"]))
            var total = 0
            var iterator = call.makeAsyncIterator()
            // Read a little, then stall: the agent must stop reading the pipe, not buffer everything.
            while total < 1_000_000, let chunk = try await iterator.next() { total += chunk.data.count }
            try await Task.sleep(for: .milliseconds(500))
            let stalled = try #require(AgentHarness.memory(pid: pid))
            while let chunk = try await iterator.next() { total += chunk.data.count }
            let result = try await call.result()
            #expect(result.exitCode == 0)
            #expect(total == 104_857_600)
            let after = try #require(AgentHarness.memory(pid: pid))
            // Window (8 MiB of base64 lines) plus pipe and runtime: far below the 100 MB that went through.
            #expect(stalled.peak < 48 * 1024, "agent peak RSS while stalled: \(stalled.peak) KiB")
            #expect(after.peak < 48 * 1024, "agent peak RSS: \(after.peak) KiB")
        }
    }

    @Test("stdin bytes reach the process unchanged")
    func stdin() async throws {
        try await AgentHarness.withAgent { agent in
            let bytes = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            var params = ExecParams(argv: ["cat"])
            params.stdin = bytes
            let run = try await agent.run(params)
            #expect(run.stdout == [UInt8](bytes))
            let empty = try await agent.run(ExecParams(argv: ["cat"]))
            #expect(empty.stdout.isEmpty && empty.result.exitCode == 0)
        }
    }

    @Test("env, cleared env, unset env and cwd")
    func environmentAndDirectory() async throws {
        try await AgentHarness.withAgent { agent in
            var params = ExecParams.shell("echo \"$FOO|$HOME|$(pwd)\"")
            params.env = ["FOO": "bar baz"]
            params.unsetEnv = ["HOME"]
            params.cwd = "/usr"
            let first = try await agent.run(params)
            #expect(text(first.stdout) == "bar baz||/usr\n")
            var cleared = ExecParams(argv: ["/usr/bin/env"])
            cleared.clearEnv = true
            cleared.env = ["ONLY": "1"]
            let second = try await agent.run(cleared)
            #expect(text(second.stdout) == "ONLY=1\n")
            var path = ExecParams(argv: ["mytool"])
            path.env = ["PATH": "/nonexistent"]
            await #expect(throws: AgentClientError.self) { try await agent.run(path) }
        }
    }

    @Test("spawn failures are errors with codes, not crashes")
    func spawnFailures() async throws {
        try await AgentHarness.withAgent { agent in
            do {
                _ = try await agent.run(ExecParams(argv: ["definitely-not-a-command"]))
                Issue.record("ran a missing command")
            } catch let error as AgentClientError {
                #expect(error.kind == .remote(.commandNotFound))
            }
            do {
                _ = try await agent.run(ExecParams(argv: ["true"], cwd: "/definitely/missing"))
                Issue.record("ran in a missing directory")
            } catch let error as AgentClientError {
                #expect(error.kind == .remote(.spawnFailed))
                #expect(error.message.contains("/definitely/missing"))
            }
            try await agent.ping()
        }
    }

    @Test("a timeout ends the process group and says so")
    func timeout() async throws {
        try await AgentHarness.withAgent { agent in
            var params = ExecParams.shell("sleep 30 & echo $!; wait")
            params.timeoutMs = 300
            let run = try await agent.run(params)
            #expect(run.result.timedOut)
            #expect(run.result.signal == SIGTERM)
            let grandchild = try #require(Int32(text(run.stdout).trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(await eventually(within: 10) { !AgentHarness.isAlive(grandchild) }, "sleep \(grandchild) survived")
        }
    }

    @Test("cancel kills the whole process group, grandchildren too")
    func cancelKillsGrandchildren() async throws {
        try await AgentHarness.withAgent { agent in
            // The grandchild ignores SIGTERM, so only the SIGKILL escalation ends it.
            let call = try agent.exec(.shell("sh -c 'trap \"\" TERM; echo $$; exec sleep 60' & wait"))
            var iterator = call.makeAsyncIterator()
            let first = try #require(try await iterator.next())
            let grandchild = try #require(Int32(String(decoding: first.data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(AgentHarness.isAlive(grandchild))
            try await call.cancel(killGraceMs: 200)
            while try await iterator.next() != nil {}
            let result = try await call.result()
            #expect(result.cancelled)
            #expect(await eventually(within: 10) { !AgentHarness.isAlive(grandchild) }, "grandchild \(grandchild) survived cancel")
        }
    }

    @Test("a long exec never delays a ping")
    func pingDuringExec() async throws {
        try await AgentHarness.withAgent { agent in
            let call = try agent.exec(.shell("sleep 300"))
            for _ in 0..<20 { try await agent.ping() }
            // Every ping was answered while the exec still runs: cancelling it finds it.
            try await call.cancel(signal: SIGKILL)
            let result = try await call.result()
            #expect(result.cancelled && result.signal == SIGKILL)
        }
    }

    @Test("child processes inherit no protocol descriptors")
    func noInheritedDescriptors() async throws {
        try await AgentHarness.withAgent { agent in
            let run = try await agent.run(.shell("ls /proc/$$/fd"))
            let fds = Set(text(run.stdout).split(separator: "\n").map(String.init))
            #expect(fds.isSubset(of: ["0", "1", "2", "10"]), "inherited descriptors: \(fds.sorted())")
        }
    }

    @Test("closing the session kills what it was running")
    func sessionCloseKillsChildren() async throws {
        let agent = try await AgentHarness.connect()
        let call = try agent.exec(.shell("echo $$; exec sleep 60"))
        var iterator = call.makeAsyncIterator()
        let first = try #require(try await iterator.next())
        let pid = try #require(Int32(String(decoding: first.data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        agent.close()
        #expect(await eventually(within: 10) { !AgentHarness.isAlive(pid) })
        await #expect(throws: AgentClientError.self) { try await call.result() }
    }
}

@Suite("local agents started concurrently", .timeLimit(.minutes(5)))
struct ConcurrentLocalAgentTests {
    @Test("a killed agent fails its pending calls even when siblings were spawned at the same time")
    func killedAgentIsNoticed() async throws {
        let agents = try await withThrowingTaskGroup(of: AgentClient.self) { group in
            for _ in 0..<6 { group.addTask { try await AgentHarness.connect() } }
            var agents: [AgentClient] = []
            for try await agent in group { agents.append(agent) }
            return agents
        }
        defer { agents.forEach { $0.close() } }
        let victim = agents[2]
        let call = try victim.exec(.shell("sleep 60"))
        kill(victim.agentHello.pid, SIGKILL)
        do {
            _ = try await call.result()
            Issue.record("the exec outlived its agent")
        } catch let error as AgentClientError {
            #expect(error.kind == .transport)
        }
        for agent in agents where agent !== victim { try await agent.ping() }
    }
}
