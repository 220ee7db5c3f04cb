import AgentProtocol
import AutomationKit
import Foundation
import Glibc
import Testing
import TestSupport

/// Issue 12: ~340 connections that never sent a token killed the agent
/// (EMFILE in a new session thread). The listener now caps connections that
/// have not authenticated, refuses what it has no descriptors for, and the
/// sessions already running carry on.
@Suite("serve mode survives connection floods", .timeLimit(.minutes(5)))
struct ListenerFloodTests {
    static let prlimit = ["/usr/bin/prlimit", "--nofile=256:256", "--"]

    /// Reads until a newline or EOF; nil on timeout (a hang detector, not a timing check).
    static func readLine(_ fd: Int32, timeout: Int32 = 30_000) -> [UInt8]? {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !received.contains(0x0A) {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, timeout) > 0 else { return nil }
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            received += buffer[..<n]
        }
        return received
    }

    /// Whether the agent closed `fd`, reading past whatever it said first
    /// (its `hello_required` line): one check settles it, so a test starved
    /// of turns by a busy machine still sees every closed connection.
    static func isClosed(_ fd: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 0) > 0 else { return false }
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    @Test("400 idle connections: the agent lives, a running session carries on, later sessions get in")
    func idleFlood() async throws {
        let server = try ListenerTests.Server(launcher: Self.prlimit)
        let existing = try await server.connect(token: server.token)
        defer { existing.close() }
        try await existing.ping()

        var flood: [Int32] = []
        defer { for fd in flood { close(fd) } }
        for _ in 0..<400 { flood.append(try TCPTransport.connectSocket(port: server.port)) }

        try await existing.ping()
        #expect(text(try await existing.run(ExecParams(argv: ["echo", "still here"])).stdout) == "still here\n")
        #expect(server.process.isRunning)
        // Beyond the cap the agent closes connections at once; the rest lose at the hello deadline (10 s).
        let closed = await eventually(within: 60) { flood.filter(Self.isClosed).count == flood.count }
        #expect(closed, "\(flood.filter(Self.isClosed).count) of \(flood.count) flood connections closed")
        for fd in flood { close(fd) }
        flood.removeAll()

        let later = try await server.connect(token: server.token)
        defer { later.close() }
        try await later.ping()
        #expect(server.process.isRunning)
    }

    @Test("authenticated sessions beyond the descriptor limit are refused, never a crash")
    func descriptorExhaustion() async throws {
        let server = try ListenerTests.Server(launcher: Self.prlimit)
        let existing = try await server.connect(token: server.token)
        defer { existing.close() }

        // Each session holds a socket and a wake-up pipe: 150 of them need
        // more than the 256 descriptors the agent has.
        var sessions: [Int32] = []
        defer { for fd in sessions { close(fd) } }
        var admitted = 0, refused = 0
        for _ in 0..<150 {
            let fd = try TCPTransport.connectSocket(port: server.port)
            sessions.append(fd)
            let hello = Array(#"{"type":"hello","version":\#(ProtocolConstants.version),"client":"flood","token":"\#(server.token)"}"#.utf8) + [0x0A]
            _ = hello.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            let line = try #require(Self.readLine(fd), "no answer and no close: the listener hangs")
            if String(decoding: line, as: UTF8.self).contains(#""type":"hello""#) { admitted += 1 } else { refused += 1 }
        }
        #expect(admitted > 0 && refused > 0, "admitted \(admitted), refused \(refused)")
        #expect(server.process.isRunning)
        // The session from before still runs processes (its exec may fail for
        // want of descriptors, with a clear error, until some are freed).
        try await existing.ping()
        for fd in sessions { close(fd) }
        sessions.removeAll()
        let ran = await eventually(within: 60) {
            (try? await existing.run(ExecParams(argv: ["echo", "ok"])).stdout) == Array("ok\n".utf8)
        }
        #expect(ran)
        let later = try await server.connect(token: server.token)
        defer { later.close() }
        try await later.ping()
    }
}
