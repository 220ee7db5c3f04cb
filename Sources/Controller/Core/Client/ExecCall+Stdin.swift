import AgentProtocol
import FoundationEssentials

/// Streaming stdin for an exec started with `stdinStream` (docs/protocol.md,
/// `exec.stdin`). Each call returns once the agent has put the bytes into the
/// process's pipe, so a writer that awaits each one goes at the process's pace.
extension ExecCall {
    /// Sends up to `ProtocolConstants.maxChunkSize` bytes at a time; false
    /// when the process has closed its stdin (send no more).
    @discardableResult
    public func writeStdin(_ bytes: [UInt8]) async throws -> Bool {
        var offset = 0
        repeat {
            let end = Swift.min(bytes.count, offset + ProtocolConstants.maxChunkSize)
            let reply = try await client.call(.stdin(StdinParams(target: id, data: Data(bytes[offset..<end]))))
            guard case .stdin(let result) = reply else {
                throw AgentClientError(.protocolViolation, "unexpected reply type for exec.stdin")
            }
            if result.closed { return false }
            offset = end
        } while offset < bytes.count
        return true
    }

    /// Closes the process's stdin (it reads EOF once everything sent before is in).
    public func closeStdin() async throws {
        _ = try await client.call(.stdin(StdinParams(target: id, eof: true)))
    }

    /// Feeds `bytes` then EOF, in the background; errors end the feeding
    /// quietly because the exec's own reply says what happened to the process.
    func feedStdinInBackground(_ bytes: Data) {
        Task {
            var offset = bytes.startIndex
            while offset < bytes.endIndex {
                let end = bytes.index(offset, offsetBy: Swift.min(ProtocolConstants.maxChunkSize, bytes.endIndex - offset))
                guard let open = try? await writeStdin([UInt8](bytes[offset..<end])), open else { return }
                offset = end
            }
            try? await closeStdin()
        }
    }
}
