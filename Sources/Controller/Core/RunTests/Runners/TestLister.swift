import AgentProtocol
import Foundation

/// Where a runner lists its tests: an agent session, or, for a `--dry-run` on this
/// machine without an agent executable, this machine directly (``LocalTestLister``).
protocol TestLister: Sendable {
    /// Runs a short command to its end; its output is kept whole.
    func run(_ params: ExecParams) async throws -> (result: ExecResult, stdout: [UInt8], stderr: [UInt8])
    /// Whether `path` exists.
    func exists(_ path: String) async -> Bool
}

extension AgentClient: TestLister {
    func exists(_ path: String) async -> Bool { (try? await stat(path)) != nil }
}

/// Runs listing commands as child processes of the controller: a dry run plans without
/// an agent (it launches and runs nothing, so needs none). Each command goes through
/// `env`, which finds argv[0] on PATH as the agent would (127 when it cannot, which
/// the listing reports as a usage error).
struct LocalTestLister: TestLister {
    func run(_ params: ExecParams) async throws -> (result: ExecResult, stdout: [UInt8], stderr: [UInt8]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["--"] + params.argv
        var environment = params.clearEnv == true ? [:] : ProcessInfo.processInfo.environment
        for name in params.unsetEnv ?? [] { environment[name] = nil }
        environment.merge(params.env ?? [:]) { _, new in new }
        process.environment = environment
        if let cwd = params.cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let started = ContinuousClock.now
        do {
            try process.run()
        } catch {
            throw RunnerError("cannot start \(params.argv.joined(separator: " ")) here: \(error.localizedDescription)")
        }
        // Blocking reads and the wait happen on a dispatch thread, never on the cooperative pool.
        let (stdout, stderr) = await withCheckedContinuation { (continuation: CheckedContinuation<([UInt8], [UInt8]), Never>) in
            DispatchQueue.global().async {
                let group = DispatchGroup()
                nonisolated(unsafe) var errBytes = Data()
                DispatchQueue.global().async(group: group) { errBytes = err.fileHandleForReading.readDataToEndOfFile() }
                let outBytes = out.fileHandleForReading.readDataToEndOfFile()
                group.wait()
                process.waitUntilExit()
                continuation.resume(returning: ([UInt8](outBytes), [UInt8](errBytes)))
            }
        }
        let elapsed = ContinuousClock.now - started
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        let signalled = process.terminationReason == .uncaughtSignal
        let result = ExecResult(exitCode: signalled ? nil : process.terminationStatus,
                                signal: signalled ? process.terminationStatus : nil, durationUs: micros)
        return (result, stdout, stderr)
    }

    func exists(_ path: String) async -> Bool { FileManager.default.fileExists(atPath: path) }
}
