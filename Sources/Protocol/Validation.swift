/// Checks that JSON alone cannot express: non-empty argv, absolute paths, and
/// every number within its range in `NumericFields`.
extension RequestBody {
    public func validate() throws(ProtocolError) {
        try validateNumbers()
        switch self {
        case .ping, .shutdown:
            return
        case .configure(let p):
            if let seconds = p.idleTimeoutSeconds, !(0...31_536_000).contains(seconds) {
                throw ProtocolError(.invalidField, "params.idleTimeoutSeconds: \(seconds) is not 0 to 31536000 seconds (365 days)")
            }
        case .exec(let p):
            guard let program = p.argv.first, !program.isEmpty else {
                throw ProtocolError(.invalidField, "params.argv: must name a program")
            }
            for arg in p.argv where arg.utf8.contains(0) {
                throw ProtocolError(.invalidField, "params.argv: arguments cannot contain NUL bytes")
            }
            for (key, value) in p.env ?? [:] where key.isEmpty || key.utf8.contains(0) || key.contains("=") || value.utf8.contains(0) {
                throw ProtocolError(.invalidField, "params.env: invalid variable '\(key)'")
            }
            if let cwd = p.cwd { try Self.checkPath(cwd, "params.cwd") }
            if let stdin = p.stdin, stdin.count > ProtocolConstants.maxExecStdin {
                throw ProtocolError(.tooLarge, "params.stdin: \(stdin.count) bytes, at most \(ProtocolConstants.maxExecStdin)")
            }
        case .cancel:
            return
        case .stat(let p): try Self.checkPath(p.path, "params.path")
        case .mkdir(let p): try Self.checkPath(p.path, "params.path")
        case .write(let p): try Self.checkPath(p.path, "params.path")
        case .read(let p): try Self.checkPath(p.path, "params.path")
        case .remove(let p):
            try Self.checkPath(p.path, "params.path")
            let parts = p.path.split(separator: "/")
            if parts.isEmpty {
                throw ProtocolError(.invalidField, "params.path: refusing to remove /")
            }
            if parts.contains(where: { $0 == "." || $0 == ".." }) {
                throw ProtocolError(.invalidField, "params.path: '\(p.path)' has '.' or '..' components; give the path itself")
            }
        case .chmod(let p): try Self.checkPath(p.path, "params.path")
        case .chown(let p): try Self.checkPath(p.path, "params.path")
        case .symlink(let p):
            try Self.checkPath(p.path, "params.path")
            if p.target.isEmpty || p.target.utf8.contains(0) {
                throw ProtocolError(.invalidField, "params.target: must be a non-empty path without NUL bytes")
            }
        case .list(let p): try Self.checkPath(p.path, "params.path")
        case .stdin(let p):
            if let data = p.data, data.count > ProtocolConstants.maxChunkSize {
                throw ProtocolError(.tooLarge, "params.data: \(data.count) bytes, at most \(ProtocolConstants.maxChunkSize) per exec.stdin")
            }
        case .syncScan(let p):
            try Self.checkPath(p.root, "params.root")
            if let limit = p.inlineLimit, !(0...ProtocolConstants.maxInlineManifest).contains(limit) {
                throw ProtocolError(.invalidField, "params.inlineLimit: \(limit) is outside 0...\(ProtocolConstants.maxInlineManifest)")
            }
            if let wait = p.waitMs, !(0...ProtocolConstants.maxSyncWaitMs).contains(wait) {
                throw ProtocolError(.invalidField, "params.waitMs: \(wait) is outside 0...\(ProtocolConstants.maxSyncWaitMs)")
            }
        case .syncApply(let p):
            try Self.checkPath(p.root, "params.root")
            if p.batch.count > ProtocolConstants.maxSyncBatch {
                throw ProtocolError(.tooLarge, "params.batch: \(p.batch.count) bytes, at most \(ProtocolConstants.maxSyncBatch)")
            }
            if let sync = p.sync, sync.isEmpty || sync.utf8.count > 64 {
                throw ProtocolError(.invalidField, "params.sync: \(sync.utf8.count) bytes; an id from sync.scan is 1 to 64")
            }
        }
    }

    private static func checkPath(_ path: String, _ field: String) throws(ProtocolError) {
        guard path.utf8.first == UInt8(ascii: "/") else {
            throw ProtocolError(.invalidField, "\(field): '\(path)' is not an absolute path")
        }
        guard !path.utf8.contains(0) else {
            throw ProtocolError(.invalidField, "\(field): paths cannot contain NUL bytes")
        }
    }
}
