import AgentProtocol
import Dispatch
import Foundation

/// Where `automation exec --stdin` takes the command's stdin from. Files and
/// this process's stdin are streamed in chunks with `exec.stdin` (any size,
/// at the remote process's pace); blocking reads run on a queue of their
/// own, never on the cooperative pool.
enum StdinSource: Sendable {
    case none
    case file(String)
    case standardInput
    /// Read once, for several targets at once.
    case bytes(Data)

    static func parse(_ option: String?, targets: Int) -> StdinSource {
        guard let option else { return .none }
        if option != "-" { return .file(option) }
        return targets > 1 ? .bytes(FileHandle.standardInput.readDataToEndOfFile()) : .standardInput
    }

    /// Sets what the exec request needs before it is sent.
    func prepare(_ params: inout ExecParams) {
        switch self {
        case .none: break
        case .bytes(let data): params.stdin = data
        case .file, .standardInput: params.stdinStream = true
        }
    }

    /// Opens the file now, so that a missing one is an error before anything runs.
    func open() throws -> FileHandle? {
        switch self {
        case .file(let path):
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw UsageError("--stdin: cannot open \(path): \(String(cString: strerror(errno)))")
            }
            return handle
        case .standardInput: return FileHandle.standardInput
        case .none, .bytes: return nil
        }
    }

    private static let readQueue = DispatchQueue(label: "automation.stdin-reader")

    /// Copies `handle` into the call's stdin, then closes it. Returns when
    /// everything is in, the process closed its stdin, or the call failed.
    static func feed(_ handle: FileHandle, into call: ExecCall) async throws {
        defer { if handle !== FileHandle.standardInput { try? handle.close() } }
        while true {
            let chunk: Data? = try await withCheckedThrowingContinuation { done in
                readQueue.async {
                    do { done.resume(returning: try handle.read(upToCount: ProtocolConstants.maxChunkSize)) } catch { done.resume(throwing: error) }
                }
            }
            guard let chunk, !chunk.isEmpty else { break }
            guard try await call.writeStdin([UInt8](chunk)) else { return }
        }
        try await call.closeStdin()
    }
}
