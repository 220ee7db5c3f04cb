import Foundation

/// A helper process (moto server, fault proxy) that prints `PORT <n>` and lives until its stdin closes.
/// Stopped by its own pid in `stop()` and on deinit, so a failing test never leaks it.
final class ServerProcess: @unchecked Sendable {
    let port: Int
    private let process: Process
    private let stdin: Pipe
    private let lock = NSLock()
    private var stopped = false

    var endpoint: String { "http://127.0.0.1:\(port)" }

    private init(process: Process, stdin: Pipe, port: Int) {
        self.process = process
        self.stdin = stdin
        self.port = port
    }

    /// Starts `script` (relative to deploy/aws, or an absolute path) with python3 and waits for its port.
    static func start(script: String, arguments: [String] = [], environment: [String: String] = [:]) async throws -> ServerProcess {
        guard let python = Fixtures.python3 else { throw FixtureError(description: Fixtures.moto.reason) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        let path = script.hasPrefix("/") ? script : Fixtures.deployDirectory.appendingPathComponent(script).path
        process.arguments = [path] + arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let reader = stdout.fileHandleForReading
        let errReader = stderr.fileHandleForReading
        // Reading blocks, so it happens on its own thread, not on the cooperative pool.
        let line: String = try await withCheckedThrowingContinuation { continuation in
            Thread {
                var data = Data()
                while !data.contains(UInt8(ascii: "\n")) {
                    let chunk = reader.availableData
                    if chunk.isEmpty { break }
                    data.append(chunk)
                }
                if data.isEmpty {
                    let err = String(decoding: errReader.availableData, as: UTF8.self)
                    continuation.resume(throwing: FixtureError(description: "\(script) exited before listening: \(err.suffix(2000))"))
                } else {
                    continuation.resume(returning: String(decoding: data, as: UTF8.self))
                }
            }.start()
        }
        guard line.hasPrefix("PORT "), let port = Int(line.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw FixtureError(description: "\(script) printed \(line.debugDescription) instead of PORT <n>")
        }
        // Drain stderr so the child never blocks on a full pipe.
        Thread { while !errReader.availableData.isEmpty {} }.start()
        return ServerProcess(process: process, stdin: stdin, port: port)
    }

    /// Closes stdin (the child's signal to exit), then sends SIGTERM to its pid and reaps it.
    func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// Runs `body` with a fresh moto server and always stops it.
func withMoto<T>(environment: [String: String] = [:], _ body: (ServerProcess) async throws -> T) async throws -> T {
    var env = ["MOTO_AMIS_PATH": Fixtures.motoAMIs]
    for (k, v) in environment { env[k] = v }
    let server = try await ServerProcess.start(script: "moto-server.py", environment: env)
    defer { server.stop() }
    return try await body(server)
}
