import AgentProtocol
import Foundation
import Scheduling

/// Reads an exec's output as it streams: result markers go to `report` the
/// moment their line is complete; the tail of all output is kept for
/// failures that carry no detail of their own.
struct ExecOutput {
    private var stdoutLines = LineSplitter()
    private(set) var tail = OutputTail()
    private(set) var reported: [String] = []

    /// Consumes the whole exec, then returns its result.
    mutating func consume(_ call: ExecCall, report: @Sendable (ResultMarker) async -> Void) async throws -> ExecResult {
        for try await chunk in call {
            tail.append(chunk.data)
            guard chunk.stream == .stdout else { continue }
            for line in stdoutLines.feed(chunk.data) {
                if let marker = ResultMarker.parse(line) {
                    reported.append(marker.test)
                    await report(marker)
                }
            }
        }
        if let rest = stdoutLines.finish(), let marker = ResultMarker.parse(rest) {
            reported.append(marker.test)
            await report(marker)
        }
        return try await call.result()
    }

    /// Runs a short command and returns its stdout, failing with its stderr.
    static func collect(_ client: any TestLister, _ params: ExecParams, what: String) async throws -> String {
        let (result, stdout, stderr): (ExecResult, [UInt8], [UInt8])
        do {
            (result, stdout, stderr) = try await client.run(params)
        } catch let error as AgentClientError where !error.isInfrastructure {
            // Not found, not executable: a usage error (64) like any other failed listing, not
            // the target refusing an operation (4).
            throw RunnerError(SetupError(flag: what, argv: params.argv, message: error.message).description)
        }
        guard result.exitCode == 0 else {
            let err = String(decoding: stderr.suffix(4000), as: UTF8.self)
            let out = String(decoding: stdout.suffix(2000), as: UTF8.self)
            throw RunnerError("\(what) failed (\(describe(result))): \(params.argv.joined(separator: " "))\n\(err.isEmpty ? out : err)")
        }
        return String(decoding: stdout, as: UTF8.self)
    }

    /// `exit status 3`, `killed by signal 9`, `timed out`.
    static func describe(_ result: ExecResult) -> String {
        if result.timedOut { return "timed out" }
        if let code = result.exitCode { return "exit status \(code)" }
        return "killed by signal \(result.signal ?? 0)"
    }
}
