import AgentProtocol
import AutomationKit
import Foundation
import Glibc
import Synchronization
import Testing
import TestSupport

/// The controller's side of resume: an `AgentClient` whose connection is cut
/// under it reconnects to the same `automation-agent serve` and carries on;
/// callers see every byte once, in order.
@Suite("resume: the client reconnects and carries on", .timeLimit(.minutes(5)))
struct ClientResumeTests {
    /// Connections to one server, each cut on demand as a network would.
    final class Links: Sendable {
        let port: UInt16
        private let current = Mutex<[PipeTransport]>([])
        let opened = Atomic<Int>(0)
        let reconnects = Atomic<Int>(0)

        init(port: UInt16) { self.port = port }

        func open() throws -> PipeTransport {
            opened.add(1, ordering: .relaxed)
            let transport = try TCPTransport.make(port: port)
            current.withLock { $0.append(transport) }
            return transport
        }

        /// Cuts the newest connection (EOF both ways; the client did not ask for it).
        func cut() { current.withLock { $0.last?.close() } }

        func reconnector(token: String, within: Double = 30) -> AgentReconnector {
            AgentReconnector(label: "test agent", token: token, within: within,
                             onReconnect: { [self] _, _ in reconnects.add(1, ordering: .relaxed) },
                             open: { [self] in try open() })
        }
    }

    func connect(_ server: ListenerTests.Server, _ links: Links, within: Double = 30) async throws -> AgentClient {
        try await AgentClient.connect(transport: try links.open(), token: server.token,
                                      reconnector: links.reconnector(token: server.token, within: within), logger: AgentHarness.logger)
    }

    @Test("output cut mid-stream arrives once and in order; the exec's result and later calls are unaffected")
    func execAcrossCuts() async throws {
        let dir = NSTemporaryDirectory() + "client-resume-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ListenerTests.Server(extra: ["--grace", "600"])
        let links = Links(port: server.port)
        let client = try await connect(server, links)
        defer { client.close() }
        #expect(client.agentHello.graceMs == 600_000)
        let go = dir + "/go"
        let call = try client.exec(.shell("seq 1 100000; while [ ! -e \(go) ]; do sleep 0.05; done; seq 100001 300000"))
        var output: [UInt8] = []
        var cut = false
        for try await chunk in call {
            output += chunk.data
            if !cut && output.count >= 588_895 {  // all of "1\n" … "100000\n"
                cut = true
                links.cut()
                FileManager.default.createFile(atPath: go, contents: nil)
            }
        }
        let result = try await call.result()
        #expect(result.exitCode == 0)
        #expect(cut)
        let lines = String(decoding: output, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 300_000)
        #expect(lines == (1...300_000).map { Substring(String($0)) }, "output lost, duplicated or reordered")
        // The note comes from the reconnecting task, possibly a moment after the output.
        #expect(await eventually(within: 10) { links.reconnects.load(ordering: .relaxed) == 1 })
        #expect(text(try await client.run(.shell("echo after")).stdout) == "after\n")
    }

    @Test("calls made while the connection is down go out once it is back, each once")
    func callsDuringOutage() async throws {
        let dir = NSTemporaryDirectory() + "client-resume-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ListenerTests.Server(extra: ["--grace", "600"])
        let links = Links(port: server.port)
        let client = try await connect(server, links)
        defer { client.close() }
        let log = dir + "/log"
        for round in 1...3 {
            links.cut()
            async let a = client.run(.shell("echo \(round) >> \(log)"))
            async let b = client.stat(dir)
            async let c: Void = client.ping()
            #expect(try await a.result.exitCode == 0)
            #expect(try await b.kind == .directory)
            try await c
        }
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "1\n2\n3\n", "a request ran twice or not at all")
        #expect(await eventually(within: 10) { links.reconnects.load(ordering: .relaxed) == 3 })
    }

    @Test("an agent that is gone fails the session's calls with a transport error once the bound has passed")
    func agentGone() async throws {
        let server = try ListenerTests.Server(extra: ["--grace", "600"])
        let links = Links(port: server.port)
        let client = try await connect(server, links, within: 2)
        let call = try client.exec(.shell("sleep 1000"))
        server.process.terminate()
        server.process.waitUntilExit()
        do {
            _ = try await call.result()
            Issue.record("the exec outlived its agent")
        } catch let error as AgentClientError {
            #expect(error.kind == .transport)
            #expect(error.message.contains("not re-established within 2 s"), "\(error.message)")
        }
        await #expect(throws: AgentClientError.self) { try await client.ping() }
        #expect(links.opened.load(ordering: .relaxed) >= 2, "no reconnect was tried (opened counts attempts)")
    }

    @Test("close() ends a resumable session at once: its processes do not wait out the grace period")
    func closeEndsSession() async throws {
        let dir = NSTemporaryDirectory() + "client-resume-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ListenerTests.Server(extra: ["--grace", "600"])
        let links = Links(port: server.port)
        let client = try await connect(server, links)
        let pidFile = dir + "/pid"
        _ = try client.exec(.shell("echo $$ > \(pidFile); exec sleep 1000"))
        #expect(await eventually(within: 10) { (try? String(contentsOfFile: pidFile, encoding: .utf8))?.hasSuffix("\n") == true })
        let pid = try #require(Int32((try String(contentsOfFile: pidFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)))
        client.close()
        #expect(await eventually(within: 30) { !AgentHarness.isAlive(pid) }, "the process waited for the grace period")
    }

    @Test("backoff grows from 0.1 s to at most 2 s, with jitter in its upper half")
    func backoff() {
        #expect(AgentReconnector.backoff(attempt: 1, random: 1) == 0.1)
        #expect(AgentReconnector.backoff(attempt: 1, random: 0) == 0.05)
        #expect(AgentReconnector.backoff(attempt: 3, random: 1) == 0.4)
        #expect(AgentReconnector.backoff(attempt: 6, random: 1) == 2)
        #expect(AgentReconnector.backoff(attempt: 1000, random: 1) == 2)
        #expect(AgentReconnector.backoff(attempt: -5, random: 7) == 0.1)
    }
}
