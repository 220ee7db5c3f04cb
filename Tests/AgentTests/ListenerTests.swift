import AgentProtocol
import AutomationKit
import Foundation
import Glibc
import Testing
import TestSupport

/// `automation-agent serve`: the mode the SSH tunnel reaches.
@Suite("serve mode: loopback listener with a token", .timeLimit(.minutes(5)))
struct ListenerTests {
    final class Server: @unchecked Sendable {
        let process = Process()
        let port: UInt16
        let token: String

        /// `launcher` runs before the agent and execs it (prlimit, to lower its descriptor limit).
        /// `extra` options follow the others (`--grace`, `--spill-dir`…).
        /// The idle timeout is long: on a loaded 2-core host a test may wait a
        /// minute between starting the agent and its first connection.
        init(idleTimeout: String = "600", launcher: [String] = [], extra: [String] = []) throws {
            let stdout = Pipe()
            let command = launcher + [try BuiltProducts.agent(), "serve", "--listen", "127.0.0.1:0", "--idle-timeout", idleTimeout] + extra
            process.executableURL = URL(fileURLWithPath: command[0])
            process.arguments = Array(command.dropFirst())
            process.standardOutput = stdout
            try process.run()
            var line = Data()
            while !line.contains(0x0A) {
                let chunk = stdout.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                line += chunk
            }
            let announce = try JSONSerialization.jsonObject(with: line) as! [String: Any]
            port = (announce["port"] as! NSNumber).uint16Value
            token = announce["token"] as! String
            #expect(token.count == 64)
            #expect((announce["pid"] as! NSNumber).int32Value == process.processIdentifier)
        }

        deinit {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }

        func connect(token: String?) async throws -> AgentClient {
            try await AgentClient.connect(transport: try TCPTransport.make(port: port), token: token, logger: AgentHarness.logger)
        }
    }

    @Test("the right token admits; a wrong or missing one is refused")
    func tokens() async throws {
        let server = try Server()
        for token in ["wrong", nil, String(server.token.dropLast()) + "0"] where token != server.token {
            do {
                _ = try await server.connect(token: token)
                Issue.record("session admitted with token \(token ?? "none")")
            } catch let error as AgentClientError {
                #expect(error.kind == .handshake)
                #expect(error.remote?.code == .authFailed)
            }
        }
        let good = try await server.connect(token: server.token)
        try await good.ping()
        good.close()
    }

    @Test("a request without hello is refused and the connection closed")
    func requestBeforeHello() async throws {
        let server = try Server()
        let fd = try TCPTransport.connectSocket(port: server.port)
        defer { close(fd) }
        let line = Array(#"{"type":"request","id":1,"op":"exec","params":{"argv":["touch","/tmp/should-not-exist"]}}"#.utf8) + [0x0A]
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var received: [UInt8] = []
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            received += buffer[..<n]
        }
        #expect(String(decoding: received, as: UTF8.self).contains("hello_required"))
    }

    @Test("several sessions at once, each served independently")
    func concurrentSessions() async throws {
        let server = try Server()
        try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<8 {
                group.addTask {
                    let client = try await server.connect(token: server.token)
                    defer { client.close() }
                    return text(try await client.run(ExecParams(argv: ["echo", "\(i)"])).stdout)
                }
            }
            var outputs: [String] = []
            for try await output in group { outputs.append(output) }
            #expect(outputs.sorted() == (0..<8).map { "\($0)\n" }.sorted())
        }
    }

    @Test("shutdown ends the agent; idle timeout ends it too")
    func lifecycle() async throws {
        let server = try Server()
        let client = try await server.connect(token: server.token)
        try await client.shutdown()
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0)

        let idle = try Server(idleTimeout: "0.5")
        idle.process.waitUntilExit()
        #expect(idle.process.terminationStatus == 0)
    }

    @Test("the listener binds loopback only")
    func loopbackOnly() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try BuiltProducts.agent())
        process.arguments = ["serve", "--listen", "0.0.0.0:0"]
        process.standardError = Pipe()
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 64)
    }
}
