import AutomationKit
import Foundation
import Testing
import TestSupport

/// Runs the real `automation` binary (which starts the real agent) for the
/// run-tests end-to-end tests, with a throwaway state directory.
struct RunTestsHarness {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The repository root, from this file's path.
    static let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    let state: URL
    let scratch: URL

    init() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("run-tests-e2e-\(UUID().uuidString.prefix(8))")
        state = scratch.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
    }

    /// Removes the scratch directory (call in a defer).
    func cleanUp() {
        try? FileManager.default.removeItem(at: scratch)
    }

    /// Starts `automation ARGS` in `cwd` (default: the repository root); output goes to files so no pipe can fill up.
    func start(_ arguments: [String], env: [String: String] = [:], cwd: URL? = nil) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try BuiltProducts.automation())
        process.arguments = arguments
        process.currentDirectoryURL = cwd ?? Self.repoRoot
        var environment = ProcessInfo.processInfo.environment
        environment["AUTOMATION_STATE"] = state.path
        environment["AUTOMATION_AGENT_BINARY"] = try BuiltProducts.agent()
        for (key, value) in env { environment[key] = value }
        process.environment = environment
        let id = UUID().uuidString.prefix(8)
        let out = scratch.appendingPathComponent("stdout-\(id)"), err = scratch.appendingPathComponent("stderr-\(id)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return Running(process: process, stdoutPath: out, stderrPath: err)
    }

    /// Runs `automation ARGS` to completion.
    func run(_ arguments: [String], env: [String: String] = [:], cwd: URL? = nil) async throws -> Outcome {
        try await start(arguments, env: env, cwd: cwd).wait()
    }

    struct Running {
        let process: Process
        let stdoutPath: URL
        let stderrPath: URL

        var stdoutSoFar: String { (try? String(contentsOf: stdoutPath, encoding: .utf8)) ?? "" }
        var stderrSoFar: String { (try? String(contentsOf: stderrPath, encoding: .utf8)) ?? "" }
        /// Waits, on a thread of its own, until `ready(stdout so far)` holds, then runs `fault`
        /// there too; false (and no fault) when the run ended first. A thread, not a task: a
        /// test elsewhere that blocks the cooperative pool (two threads on two cores) must not
        /// hold the fault back until the run is over.
        func inject(when ready: @escaping @Sendable (String) -> Bool, timeout: Double = 300,
                    _ fault: @escaping @Sendable () -> Void) async -> Bool {
            let run = UncheckedRun(self)
            return await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
                Thread {
                    let deadline = Date().addingTimeInterval(timeout)
                    while run.value.process.isRunning && !ready(run.value.stdoutSoFar) && Date() < deadline { usleep(10_000) }
                    guard run.value.process.isRunning && ready(run.value.stdoutSoFar) else { return done.resume(returning: false) }
                    fault()
                    done.resume(returning: true)
                }.start()
            }
        }

        /// Waits (bounded) until the run's stderr holds `marker`; false when the run ended or
        /// `seconds` passed first.
        func waitForStderr(_ marker: String, seconds: Double = 180) async throws -> Bool {
            _ = await eventually(within: seconds) { stderrSoFar.contains(marker) || !process.isRunning }
            return stderrSoFar.contains(marker)
        }

        /// What the run said so far and how it ended, for a failure message.
        var soFar: String {
            let status = process.isRunning ? "running" : "exit \(process.terminationStatus)"
            return "\(status)\nstdout: \(stdoutSoFar)\nstderr: \(stderrSoFar)"
        }

        /// Waits for the run to end; one that hangs for `hangGuard` seconds is killed and fails the test.
        func wait(hangGuard: Double = 900) async throws -> Outcome {
            guard await eventually(within: hangGuard, { !process.isRunning }) else {
                process.terminate()
                throw HarnessError("automation hung for \(Int(hangGuard)) s; output so far:\n\(stdoutSoFar)")
            }
            return Outcome(status: process.terminationStatus,
                           stdout: try String(contentsOf: stdoutPath, encoding: .utf8),
                           stderr: try String(contentsOf: stderrPath, encoding: .utf8))
        }
    }

    /// The JSON-lines report as objects.
    static func events(_ path: URL) throws -> [[String: Any]] {
        try String(contentsOf: path, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// The sample suite's command-runner arguments.
    static let sampleSuite = ["run-tests", "--runner", "command",
                              "--list-command", "examples/sample-suite/list-tests",
                              "--test-command", "examples/sample-suite/run-test {test}"]

    /// The sample suite's test names, from its own list script.
    static func sampleTests() throws -> [String] {
        let dir = repoRoot.appendingPathComponent("examples/sample-suite/tests")
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sh") }
            .map { String($0.dropLast(3)) }.sorted()
    }

    /// Finds an executable on PATH.
    static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Runs a helper program to completion (setup steps, not the system under test).
    @discardableResult
    static func shell(_ argv: [String], cwd: URL? = nil, env: [String: String] = [:]) -> (status: Int32, output: String) {
        do {
            return try shellThrowing(argv, cwd: cwd, env: env)
        } catch {
            return (-1, "cannot run \(argv[0]): \(error)")
        }
    }

    /// `shell` on a thread of its own: for steps that take seconds, so they do not hold
    /// one of the cooperative pool's two threads (on two cores) while they wait.
    static func shellOffPool(_ argv: [String], cwd: URL? = nil, env: [String: String] = [:]) async -> (status: Int32, output: String) {
        await withCheckedContinuation { done in
            Thread { done.resume(returning: shell(argv, cwd: cwd, env: env)) }.start()
        }
    }

    private static func shellThrowing(_ argv: [String], cwd: URL?, env: [String: String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") ? argv[0] : (which(argv[0]) ?? argv[0]))
        process.arguments = Array(argv.dropFirst())
        if let cwd { process.currentDirectoryURL = cwd }
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in env { environment[key] = value }
        process.environment = environment
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("shell-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }
}

/// A running `automation` handed to a watcher thread (Process is not Sendable; the thread only reads it).
struct UncheckedRun: @unchecked Sendable {
    let value: RunTestsHarness.Running
    init(_ value: RunTestsHarness.Running) { self.value = value }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
