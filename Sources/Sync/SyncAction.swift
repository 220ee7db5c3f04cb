/// One step of applying a plan on the destination.
public enum SyncAction: Equatable, Sendable {
    /// Remove a file, link or whole directory (never following links).
    case delete(SyncPath)
    case mkdir(SyncPath, mode: UInt32)
    /// A whole small file: written to a temporary name, then renamed.
    case file(SyncPath, mode: UInt32, data: [UInt8])
    /// A piece of a large file. `upload` names the temporary file; the piece
    /// with `final` renames it into place once its size and digest check out.
    case chunk(Chunk)
    /// Create or replace a symlink (temporary name, then rename).
    case symlink(SyncPath, target: [UInt8])
    case chmod(SyncPath, mode: UInt32)

    public struct Chunk: Equatable, Sendable {
        public var path: SyncPath
        public var mode: UInt32
        public var upload: UInt64
        public var offset: UInt64
        public var totalSize: UInt64
        /// Set on the last piece: the digest of the whole file.
        public var finalDigest: Digest?
        public var data: [UInt8]

        public init(path: SyncPath, mode: UInt32, upload: UInt64, offset: UInt64, totalSize: UInt64, finalDigest: Digest?, data: [UInt8]) {
            self.path = path
            self.mode = mode
            self.upload = upload
            self.offset = offset
            self.totalSize = totalSize
            self.finalDigest = finalDigest
            self.data = data
        }
    }

    public var path: SyncPath {
        switch self {
        case .delete(let p), .mkdir(let p, _), .file(let p, _, _), .symlink(let p, _), .chmod(let p, _): p
        case .chunk(let c): c.path
        }
    }
}

/// A batch of actions in the binary form `sync.apply` carries (docs/protocol.md, "Sync").
public enum SyncBatch {
    static let magic: [UInt8] = Array("ASB1".utf8)
    /// Largest file a chunked upload may describe (2^62 bytes, as
    /// `ProtocolConstants.maxFileOffset`): every offset below it, plus a piece,
    /// converts to `off_t` without trapping.
    public static let maxFileSize: UInt64 = 1 << 62

    public static func encode(_ actions: [SyncAction]) -> [UInt8] {
        var w = ByteWriter()
        w.bytes(magic)
        for action in actions {
            switch action {
            case .delete(let p):
                w.u8(1); w.blob(p.bytes)
            case .mkdir(let p, let mode):
                w.u8(2); w.blob(p.bytes); w.u32(mode)
            case .file(let p, let mode, let data):
                w.u8(3); w.blob(p.bytes); w.u32(mode); w.blob(data)
            case .symlink(let p, let target):
                w.u8(4); w.blob(p.bytes); w.blob(target)
            case .chmod(let p, let mode):
                w.u8(5); w.blob(p.bytes); w.u32(mode)
            case .chunk(let c):
                w.u8(6); w.blob(c.path.bytes); w.u32(c.mode); w.u64(c.upload); w.u64(c.offset); w.u64(c.totalSize)
                if let d = c.finalDigest {
                    w.u8(1); w.bytes(d.bytes)
                } else {
                    w.u8(0)
                }
                w.blob(c.data)
            }
        }
        return w.buffer
    }

    /// Every path, mode and length is checked; bad input is an error, never a crash.
    public static func decode(_ bytes: [UInt8]) throws(SyncError) -> [SyncAction] {
        var r = ByteReader(bytes)
        guard try r.bytes(4) == magic else { throw SyncError(.badData, "batch: wrong magic") }
        var actions: [SyncAction] = []
        func mode() throws(SyncError) -> UInt32 {
            let m = try r.u32()
            guard m <= 0o7777 else { throw SyncError(.badData, "batch: mode \(m) above 0o7777") }
            return m
        }
        while !r.atEnd {
            let op = try r.u8()
            switch op {
            case 1: actions.append(.delete(try r.path()))
            case 2: actions.append(.mkdir(try r.path(), mode: try mode()))
            case 3: actions.append(.file(try r.path(), mode: try mode(), data: try r.blob()))
            case 4: actions.append(.symlink(try r.path(), target: try r.linkTarget()))
            case 5: actions.append(.chmod(try r.path(), mode: try mode()))
            case 6:
                let path = try r.path()
                let m = try mode()
                let upload = try r.u64(), offset = try r.u64(), total = try r.u64()
                let hasDigest = try r.u8()
                guard hasDigest <= 1 else { throw SyncError(.badData, "batch: bad final flag") }
                let digest = hasDigest == 1 ? Digest(try r.bytes(32)) : nil
                let data = try r.blob()
                guard total <= maxFileSize else {
                    throw SyncError(.badData, "batch: chunk of a \(total)-byte file; files are at most \(maxFileSize) bytes")
                }
                guard offset <= total, UInt64(data.count) <= total - offset else {
                    throw SyncError(.badData, "batch: chunk at \(offset)+\(data.count) beyond the file's \(total) bytes")
                }
                actions.append(.chunk(.init(path: path, mode: m, upload: upload, offset: offset, totalSize: total, finalDigest: digest, data: data)))
            default:
                throw SyncError(.badData, "batch: unknown action \(op)")
            }
        }
        return actions
    }
}
