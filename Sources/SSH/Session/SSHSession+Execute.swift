import Foundation

/// The collected outcome of a command run with `SSHSession.execute`.
public struct SSHExecResult: Sendable {
    /// Everything the command wrote to stdout.
    public var stdout: [UInt8]
    /// Everything the command wrote to stderr.
    public var stderr: [UInt8]
    /// The exit status, when the command exited normally.
    public var exitStatus: Int32?
    /// The signal that killed the command, if any.
    public var exitSignal: String?

    /// stdout as text.
    public var output: String { String(decoding: stdout, as: UTF8.self) }
}

extension SSHSession {
    /// Runs `command` on its own exec channel and collects its output.
    /// For setup and probes; the agent carries the real work.
    public func execute(_ command: String, stdin: [UInt8] = []) async throws -> SSHExecResult {
        let channel = try await openExec(command)
        let collector = ExecCollector()
        return try await withCheckedThrowingContinuation { continuation in
            collector.continuation = continuation
            channel.start(onData: { bytes, stream in
                collector.append(bytes, stream)
            }, onEnd: { end in
                collector.finish(end)
            })
            do {
                if !stdin.isEmpty { try channel.send(stdin) }
                channel.sendEOF()
            } catch {
                channel.close()
            }
        }
    }
}

private final class ExecCollector: @unchecked Sendable {
    private let lock = NSLock()
    var continuation: CheckedContinuation<SSHExecResult, any Error>?
    private var result = SSHExecResult(stdout: [], stderr: [], exitStatus: nil, exitSignal: nil)

    func append(_ bytes: UnsafeRawBufferPointer, _ stream: SSHChannel.Stream) {
        lock.lock()
        defer { lock.unlock() }
        if stream == .stdout { result.stdout.append(contentsOf: bytes) } else { result.stderr.append(contentsOf: bytes) }
    }

    func finish(_ end: SSHChannel.End) {
        lock.lock()
        let continuation = self.continuation
        self.continuation = nil
        result.exitStatus = end.exitStatus
        result.exitSignal = end.exitSignal
        let result = self.result
        lock.unlock()
        if let error = end.error { continuation?.resume(throwing: error) } else { continuation?.resume(returning: result) }
    }
}
