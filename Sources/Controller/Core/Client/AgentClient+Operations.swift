import AgentProtocol
import FoundationEssentials

/// Typed wrappers for each operation.
extension AgentClient {
    /// One round trip.
    public func ping() async throws {
        _ = try await call(.ping)
    }

    /// Runs a process to completion, collecting its output (for small outputs).
    public func run(_ params: ExecParams) async throws -> (result: ExecResult, stdout: [UInt8], stderr: [UInt8]) {
        let call = try exec(params)
        var out: [UInt8] = [], err: [UInt8] = []
        for try await chunk in call {
            if chunk.stream == .stdout { out.append(contentsOf: chunk.data) } else { err.append(contentsOf: chunk.data) }
        }
        return (try await call.result(), out, err)
    }

    public func stat(_ path: String, noFollow: Bool = false) async throws -> FileInfo {
        guard case .stat(let info) = try await call(.stat(StatParams(path: path, noFollow: noFollow))) else { throw unexpected(.stat) }
        return info
    }

    /// Creates a directory and its parents; a `scratch` one is removed by the
    /// agent when the session ends, also when the controller never comes back.
    public func mkdir(_ path: String, mode: UInt32? = nil, scratch: Bool = false) async throws {
        _ = try await call(.mkdir(MkdirParams(path: path, mode: mode, scratch: scratch ? true : nil)))
    }

    public func write(_ path: String, data: [UInt8], mode: UInt32? = nil) async throws {
        _ = try await call(.write(WriteParams(path: path, data: Data(data), mode: mode)))
    }

    public func read(_ path: String, offset: Int64? = nil, length: Int? = nil) async throws -> ReadResult {
        guard case .read(let result) = try await call(.read(ReadParams(path: path, offset: offset, length: length))) else { throw unexpected(.read) }
        return result
    }

    /// Reads a whole file, chunk by chunk.
    public func readAll(_ path: String) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            let chunk = try await read(path, offset: Int64(bytes.count))
            bytes.append(contentsOf: chunk.data)
            if chunk.data.isEmpty || Int64(bytes.count) >= chunk.size { return bytes }
        }
    }

    public func remove(_ path: String, recursive: Bool = false, missingOK: Bool = false) async throws {
        _ = try await call(.remove(RemoveParams(path: path, recursive: recursive, missingOK: missingOK)))
    }

    public func chmod(_ path: String, mode: UInt32) async throws {
        _ = try await call(.chmod(ChmodParams(path: path, mode: mode)))
    }

    public func chown(_ path: String, uid: UInt32?, gid: UInt32?, noFollow: Bool = false) async throws {
        _ = try await call(.chown(ChownParams(path: path, uid: uid, gid: gid, noFollow: noFollow)))
    }

    public func symlink(target: String, at path: String) async throws {
        _ = try await call(.symlink(SymlinkParams(target: target, path: path)))
    }

    public func list(_ path: String) async throws -> [FileInfo] {
        guard case .list(let result) = try await call(.list(ListParams(path: path))) else { throw unexpected(.list) }
        return result.entries
    }

    /// Changes settings of the running agent (`agent.configure`, docs/protocol.md).
    public func configure(_ params: ConfigureParams) async throws {
        _ = try await call(.configure(params))
    }

    /// Asks the agent to stop everything and exit.
    public func shutdown() async throws {
        _ = try await call(.shutdown)
    }

    private func unexpected(_ op: Operation) -> AgentClientError {
        AgentClientError(.protocolViolation, "unexpected reply type for \(op.rawValue)")
    }
}
