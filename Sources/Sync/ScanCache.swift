import Glibc

/// Content hashes remembered by (device, inode, size, mtime in ns): a file
/// whose stat is unchanged is not read again. Persisted as a small binary file.
public struct ScanCache: Sendable {
    public struct Key: Equatable, Sendable {
        public var device: UInt64
        public var inode: UInt64
        public var size: UInt64
        public var mtimeNs: Int64
    }

    struct Entry: Sendable {
        var key: Key
        var digest: Digest
    }

    var entries: [SyncPath: Entry] = [:]
    /// Changed since loaded or saved: a no-op sync writes no cache file.
    public private(set) var dirty = false

    public init() {}

    public var count: Int { entries.count }

    public func digest(for path: SyncPath, key: Key) -> Digest? {
        guard let e = entries[path], e.key == key else { return nil }
        return e.digest
    }

    public mutating func record(_ path: SyncPath, key: Key, digest: Digest) {
        entries[path] = Entry(key: key, digest: digest)
        dirty = true
    }

    public mutating func forget(_ path: SyncPath) {
        if entries.removeValue(forKey: path) != nil { dirty = true }
    }

    /// Drops everything under (and at) `path`.
    public mutating func forgetTree(_ path: SyncPath) {
        let prefix = path.bytes + [UInt8(ascii: "/")]
        let before = entries.count
        entries = entries.filter { $0.key != path && !$0.key.bytes.starts(with: prefix) }
        if entries.count != before { dirty = true }
    }

    /// Keeps only the paths in `keep`.
    mutating func retain(_ keep: Set<SyncPath>) {
        guard entries.count > 0, entries.keys.contains(where: { !keep.contains($0) }) else { return }
        entries = entries.filter { keep.contains($0.key) }
        dirty = true
    }

    static let magic: [UInt8] = Array("ASC1".utf8)

    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.bytes(Self.magic)
        w.u32(UInt32(entries.count))
        for (path, e) in entries {
            w.blob(path.bytes)
            w.u64(e.key.device)
            w.u64(e.key.inode)
            w.u64(e.key.size)
            w.u64(UInt64(bitPattern: e.key.mtimeNs))
            w.bytes(e.digest.bytes)
        }
        return w.buffer
    }

    public init(decoding bytes: [UInt8]) throws(SyncError) {
        var r = ByteReader(bytes)
        guard try r.bytes(4) == Self.magic else { throw SyncError(.badData, "scan cache: wrong magic") }
        let count = try r.u32()
        guard Int(count) <= bytes.count / 68 else { throw SyncError(.badData, "scan cache: bad count") }
        for _ in 0..<count {
            let path = try r.path()
            let key = Key(device: try r.u64(), inode: try r.u64(), size: try r.u64(), mtimeNs: Int64(bitPattern: try r.u64()))
            entries[path] = Entry(key: key, digest: Digest(try r.bytes(32))!)
        }
    }

    /// Loads `file`; a missing or corrupt cache is an empty one (it is only a cache).
    public static func load(_ file: String) -> ScanCache {
        guard let bytes = FileIO.readWhole(file, limit: 1 << 30), let cache = try? ScanCache(decoding: bytes) else { return ScanCache() }
        return cache
    }

    /// Saves atomically (temporary file, rename); failures are ignored, since the cache is only an optimisation.
    public mutating func save(_ file: String) {
        if FileIO.writeAtomically(file, encoded()) { dirty = false }
    }

    /// Saves only when something changed.
    public mutating func saveIfDirty(_ file: String) {
        if dirty { save(file) }
    }
}

extension ScanCache.Key {
    init(_ st: stat) {
        self.init(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: UInt64(st.st_size), mtimeNs: st.mtimeNs)
    }
}

/// Whole-file helpers for caches and manifests.
public enum FileIO {
    public static func readWhole(_ path: String, limit: Int) -> [UInt8]? {
        readWhole(bytes: Array(path.utf8), limit: limit)
    }

    /// Reads a file whose path need not be UTF-8.
    public static func readWhole(bytes path: [UInt8], limit: Int) -> [UInt8]? {
        guard let fd = OwnedFD.open(at: AT_FDCWD, path, O_RDONLY) else { return nil }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { buf in Sys.retry { read(fd.raw, buf.baseAddress!, buf.count) } }
            if n < 0 { return nil }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit { return nil }
        }
    }

    /// Creates missing parents (0700), writes a temporary file and renames it over `path`.
    @discardableResult
    public static func writeAtomically(_ path: String, _ bytes: [UInt8]) -> Bool {
        if let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) {
            makeDirectories(String(path[..<slash]))
        }
        let temp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard let fd = OwnedFD.open(at: AT_FDCWD, Array(temp.utf8), O_WRONLY | O_CREAT | O_EXCL, mode: 0o600) else { return false }
        let ok = bytes.withUnsafeBytes { writeAll(fd.raw, $0) }
        guard ok, rename(temp, path) == 0 else {
            unlink(temp)
            return false
        }
        return true
    }

    static func makeDirectories(_ path: String) {
        guard !path.isEmpty, mkdir(path, 0o700) != 0, errno == ENOENT else { return }
        if let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")), slash != path.startIndex {
            makeDirectories(String(path[..<slash]))
        }
        mkdir(path, 0o700)
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = Sys.retry { write(fd, bytes.baseAddress! + offset, bytes.count - offset) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }
}
