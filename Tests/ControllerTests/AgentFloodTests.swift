import AutomationKit
import Foundation
import Glibc
import Synchronization
import Testing
import TestSupport

/// Issue 21, finding 5: a local user holding the agent's 64 slots for
/// connections awaiting their hello made the controller take the agent for
/// dead: each `automation exec` started another agent and overwrote the
/// state file, and a resume gave up on the live agent. Now a refusal before
/// the hello is "busy": the controller waits for the agent it has.
@Suite("SSH sessions ride out a connection flood", .serialized, .requires(.sshd))
struct AgentFloodTests {
    /// Holds every pre-hello slot of the agent on `port` (and some more),
    /// opening a new connection for each the agent closes (its 10 s hello
    /// deadline), from a thread of its own until `stop`.
    final class Flood: Sendable {
        private let stopped = Atomic<Bool>(false)
        private let done = Mutex<Bool>(false)

        init(port: UInt16, connections: Int = 80) {
            Thread { [self] in
                var fds: [Int32] = []
                while !stopped.load(ordering: .relaxed) {
                    fds.removeAll { fd in
                        var byte: UInt8 = 0
                        let n = recv(fd, &byte, 1, Int32(MSG_DONTWAIT | MSG_PEEK))
                        let closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || n > 0
                        if closed { close(fd) }
                        return closed
                    }
                    while fds.count < connections, let fd = try? TCPTransport.connectSocket(port: port) { fds.append(fd) }
                    usleep(5_000)
                }
                for fd in fds { close(fd) }
                done.withLock { $0 = true }
            }.start()
        }

        /// Ends the flood and waits (bounded) until its connections are closed.
        func stop() {
            stopped.store(true, ordering: .relaxed)
            for _ in 0..<1000 where !done.withLock({ $0 }) { usleep(10_000) }
        }
    }

    /// The agent's state file on the test host, and the port and pid it names.
    struct StateFile {
        let path: String
        var text: String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

        init(agent: UniqueAgent, user: String) throws {
            let home = try #require(FileManager.default.homeDirectory(forUser: user)?.path)
            path = "\(home)/.cache/automation/agent-\(agent.hash).state"
        }

        func port() throws -> UInt16 {
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            return try #require((object?["port"] as? NSNumber)?.uint16Value, "state file: \(text)")
        }
    }

    /// Waits until a new connection to `port` is refused at once (the slots are taken).
    static func slotsTaken(port: UInt16) async -> Bool {
        await eventually(within: 60) { refusedAtOnce(port: port) }
    }

    /// A new connection is answered (with `busy`) or closed within 5 s, without a hello
    /// (5 s: a loaded machine, the whole suite at once, starves the agent's accept loop).
    static func refusedAtOnce(port: UInt16) -> Bool {
        guard let fd = try? TCPTransport.connectSocket(port: port) else { return false }
        defer { close(fd) }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 5_000) > 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 512)
        return recv(fd, &buffer, buffer.count, 0) >= 0
    }

    @Test("exec during a flood waits for the live agent, succeeds when it ends; one agent, state file untouched")
    func execDuringFlood() async throws {
        let fixture = try AgentOnSSHHost()
        defer { fixture.cleanUp() }
        let (harness, agent, host, target) = (fixture.harness, fixture.agent, fixture.host, fixture.target)
        let first = try await harness.run(["exec"] + target + ["--", "true"])
        try #require(first.status == 0, "first exec: \(first.stderr)")
        let pids = agent.pids()
        try #require(pids.count == 1, "agents: \(pids)")
        let state = try StateFile(agent: agent, user: host.user)
        let recorded = state.text

        let flood = Flood(port: try state.port())
        defer { flood.stop() }
        #expect(await Self.slotsTaken(port: try state.port()), "the flood did not fill the agent's slots")
        let running = try harness.start(["exec", "-v"] + target + ["--", "echo", "through"])
        // Refused while the flood lasts (it ends only once the controller has met it).
        let metFlood = try await running.waitForStderr("ssh.agent.busy", seconds: 120)
        flood.stop()
        let result = try await running.wait(hangGuard: 300)
        #expect(metFlood, "the exec never reported the busy agent: \(result.stderr)")
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == "through\n")
        #expect(agent.pids() == pids, "agents before \(pids), after \(agent.pids())")
        #expect(state.text == recorded, "the state file was replaced")
    }

    @Test("a flood that outlasts the 60 s wait fails the exec with a clear busy error; still one agent, state file untouched")
    func floodOutlastsTheWait() async throws {
        let fixture = try AgentOnSSHHost()
        defer { fixture.cleanUp() }
        let (harness, agent, host, target) = (fixture.harness, fixture.agent, fixture.host, fixture.target)
        let first = try await harness.run(["exec"] + target + ["--", "true"])
        try #require(first.status == 0, "first exec: \(first.stderr)")
        let pids = agent.pids()
        try #require(pids.count == 1, "agents: \(pids)")
        let state = try StateFile(agent: agent, user: host.user)
        let recorded = state.text

        let flood = Flood(port: try state.port())
        defer { flood.stop() }
        #expect(await Self.slotsTaken(port: try state.port()), "the flood did not fill the agent's slots")
        let result = try await harness.run(["exec"] + target + ["--", "echo", "through"])
        flood.stop()
        #expect(result.status == 255, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stderr.contains("is running but busy"), "stderr: \(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(agent.pids() == pids, "agents before \(pids), after \(agent.pids())")
        #expect(state.text == recorded, "the state file was replaced")
    }

    @Test("a connection dropped during a flood resumes on the same agent once the flood ends; exit 0")
    func resumeDuringFlood() async throws {
        let harness = try RunTestsHarness()
        let agent = try UniqueAgent(in: harness)
        let host: FaultSSHHost
        let proxy: FaultProxy
        do {
            host = try FaultSSHHost(in: harness)
            do { proxy = try FaultProxy(upstreamPort: host.port) } catch { host.stop(); throw error }
        } catch { harness.cleanUp(); throw error }
        defer {
            agent.killAll()
            proxy.stop()
            host.stop()
            harness.cleanUp()
        }
        let target = host.targetArguments(port: proxy.port, slots: 1) + ["--agent-binary", agent.path]
        let marker = harness.scratch.appendingPathComponent("go").path
        // The command runs until the test lets it finish, so the drop always lands mid-session.
        let script = "echo started; while [ ! -e \(marker) ]; do sleep 0.1; done; echo finished"
        let running = try harness.start(["exec", "-v"] + target + ["--", "/bin/sh", "-c", script])
        let started = await running.inject(when: { $0.contains("started") }) {}
        try #require(started, "the command did not start: \(running.soFar)")
        let pids = agent.pids()
        try #require(pids.count == 1, "agents: \(pids)")
        let state = try StateFile(agent: agent, user: host.user)
        let recorded = state.text

        let flood = Flood(port: try state.port())
        defer { flood.stop() }
        #expect(await Self.slotsTaken(port: try state.port()), "the flood did not fill the agent's slots")
        try proxy.send("kill")
        let metFlood = try await running.waitForStderr("ssh.agent.busy", seconds: 120)
        flood.stop()
        FileManager.default.createFile(atPath: marker, contents: nil)
        let result = try await running.wait(hangGuard: 300)
        #expect(metFlood, "the resume never reported the busy agent: \(result.stderr)")
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == "started\nfinished\n")
        #expect(result.stderr.contains("reconnected to ssh://"), "\(result.stderr)")
        #expect(agent.pids() == pids, "agents before \(pids), after \(agent.pids())")
        #expect(state.text == recorded, "the state file was replaced")
    }
}
