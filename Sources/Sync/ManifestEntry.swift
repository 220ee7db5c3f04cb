/// One file, directory or symbolic link in a synced tree.
public struct ManifestEntry: Equatable, Sendable {
    public enum Kind: UInt8, Sendable {
        case file = 1, directory = 2, symlink = 3
    }

    public var path: SyncPath
    public var kind: Kind
    /// Permission bits (mode & 0o7777); 0o777 for symlinks, whose mode is not synced.
    public var mode: UInt32
    /// Bytes, for files.
    public var size: UInt64
    /// Content hash, for files.
    public var digest: Digest
    /// Raw link target, for symlinks.
    public var target: [UInt8]

    public init(path: SyncPath, kind: Kind, mode: UInt32, size: UInt64 = 0, digest: Digest = .zero, target: [UInt8] = []) {
        self.path = path
        self.kind = kind
        self.mode = mode & 0o7777
        self.size = size
        self.digest = digest
        self.target = target
    }

    public static func == (a: ManifestEntry, b: ManifestEntry) -> Bool {
        a.path == b.path && a.kind == b.kind && a.mode == b.mode && a.size == b.size && a.digest == b.digest && a.target == b.target
    }
}

/// The entries of a tree, sorted by path bytes.
public struct Manifest: Equatable, Sendable {
    public private(set) var entries: [ManifestEntry]

    public init(_ entries: [ManifestEntry]) {
        self.entries = entries.sorted { $0.path < $1.path }
    }

    public var byPath: [SyncPath: ManifestEntry] {
        Dictionary(entries.map { ($0.path, $0) }, uniquingKeysWith: { _, b in b })
    }

    public var totalFileBytes: UInt64 { entries.reduce(0) { $0 + ($1.kind == .file ? $1.size : 0) } }
}

extension Manifest {
    static let magic: [UInt8] = Array("AMF1".utf8)

    /// The binary form carried by `sync.scan` (docs/protocol.md, "Sync").
    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.bytes(Self.magic)
        w.u32(UInt32(entries.count))
        for e in entries {
            w.u8(e.kind.rawValue)
            w.u32(e.mode)
            w.u64(e.size)
            w.blob(e.path.bytes)
            switch e.kind {
            case .file: w.bytes(e.digest.bytes)
            case .symlink: w.blob(e.target)
            case .directory: break
            }
        }
        return w.buffer
    }

    /// Decodes and checks every path and number; a malformed manifest is an error, never a crash.
    public init(decoding bytes: [UInt8]) throws(SyncError) {
        var r = ByteReader(bytes)
        guard try r.bytes(4) == Self.magic else { throw SyncError(.badData, "manifest: wrong magic") }
        let count = try r.u32()
        guard Int(count) <= bytes.count / 17 else { throw SyncError(.badData, "manifest: \(count) entries cannot fit in \(bytes.count) bytes") }
        var entries: [ManifestEntry] = []
        entries.reserveCapacity(Int(count))
        for _ in 0..<count {
            let kindByte = try r.u8()
            guard let kind = ManifestEntry.Kind(rawValue: kindByte) else { throw SyncError(.badData, "manifest: unknown kind \(kindByte)") }
            let mode = try r.u32()
            guard mode <= 0o7777 else { throw SyncError(.badData, "manifest: mode \(mode) above 0o7777") }
            let size = try r.u64()
            let path = try r.path()
            var entry = ManifestEntry(path: path, kind: kind, mode: mode, size: size)
            switch kind {
            case .file: entry.digest = Digest(try r.bytes(32))!
            case .symlink: entry.target = try r.linkTarget()
            case .directory: break
            }
            entries.append(entry)
        }
        guard r.atEnd else { throw SyncError(.badData, "manifest: trailing bytes") }
        self.init(entries)
    }
}
