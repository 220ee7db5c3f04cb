import Glibc
import Synchronization

/// The agent's side of one sync, from its scan to its last apply: the
/// destination resolved and opened once, held by descriptor and locked for
/// the whole sync, its marker, the sync's private directory for temporary
/// files, its scan cache and the writer with its unfinished uploads.
///
/// Ended by the last apply (`save`), by an error, or by `end()` (the agent
/// calls it when the session ends); nothing is reopened by path meanwhile.
public final class SyncDestination {
    /// Names this sync in `sync.apply` (128 random bits, hex).
    public let id: String
    public let root: ResolvedRoot
    private var lock: RootLock?
    private let marker: OwnedFD
    private let privateName: [UInt8]
    private let privateDir: OwnedFD
    let cacheFile: String?
    private var cache: ScanCache
    private var writer: TreeWriter?
    public private(set) var ended = false

    /// Scan caches by resolved root while the agent lives (persisted in `cacheFile` too).
    private static let caches = Mutex<[String: ScanCache]>([:])

    static let readme = Array("""
        This directory marks its parent as the destination of `automation sync`.
        Each sync makes the parent a copy of its source: what the source lacks is
        deleted there. Remove this directory to stop that: a sync then refuses the
        parent (while it holds files) unless given --adopt.

        """.utf8)

    /// Resolves and opens `requested`, waits up to `waitNs` for another sync of
    /// the same directory to end, and claims it: a new or empty directory, or
    /// one marked by an earlier sync; a populated one without the marker only with `adopt`.
    public static func begin(_ requested: String, home: String?, cacheDirectory: String?,
                             adopt: Bool, waitNs: UInt64) throws(SyncError) -> SyncDestination {
        try begin(SyncRoot.resolve(requested, home: home), cacheDirectory: cacheDirectory, adopt: adopt, waitNs: waitNs)
    }

    /// The same for a root resolved already (`SyncRoot.resolve`).
    public static func begin(_ root: ResolvedRoot, cacheDirectory: String?, adopt: Bool, waitNs: UInt64) throws(SyncError) -> SyncDestination {
        let lock = try RootLock.acquire(root, waitNs: waitNs)
        let marker = try claim(root, adopt: adopt)
        // Leftovers of syncs that were killed: the lock says none of them is running.
        let sweeper = TreeWriter(root: root.fd, path: root.requested, privateDir: nil, cache: ScanCache())
        let markerDisplay = "\(root.requested)/\(SyncPath.printable(SyncRoot.markerName))"
        for name in try Sys.names(marker.raw, markerDisplay) where name != Array("README".utf8) {
            try sweeper.removeEntry(marker.raw, name, "\(markerDisplay)/\(SyncPath.printable(name))")
        }
        let id = randomHex(16)
        let privateName = Array("tmp-\(id)".utf8)
        guard withCPath(privateName, { mkdirat(marker.raw, $0, 0o700) }) == 0,
              let privateDir = OwnedFD.open(at: marker.raw, privateName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) else {
            throw Sys.error("mkdir", "\(markerDisplay)/tmp-\(id)")
        }
        let cacheFile = cacheDirectory.map { "\($0)/\(SHA256Hasher.digest(Array(root.path.utf8)).hex).cache" }
        let cache = caches.withLock { $0[root.path] } ?? cacheFile.map(ScanCache.load) ?? ScanCache()
        return SyncDestination(id: id, root: root, lock: lock, marker: marker, privateName: privateName,
                               privateDir: privateDir, cacheFile: cacheFile, cache: cache)
    }

    private init(id: String, root: ResolvedRoot, lock: RootLock, marker: OwnedFD, privateName: [UInt8],
                 privateDir: OwnedFD, cacheFile: String?, cache: ScanCache) {
        self.id = id
        self.root = root
        self.lock = lock
        self.marker = marker
        self.privateName = privateName
        self.privateDir = privateDir
        self.cacheFile = cacheFile
        self.cache = cache
    }

    deinit { end() }

    /// The marker directory of `root`, made now when the directory is new or
    /// empty, or when `adopt` says to take a populated one over.
    static func claim(_ root: ResolvedRoot, adopt: Bool) throws(SyncError) -> OwnedFD {
        let name = SyncRoot.markerName
        let markerDisplay = "\(root.display)/\(SyncPath.printable(name))"
        if let marker = OwnedFD.open(at: root.fd.raw, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) { return marker }
        let code = errno
        guard code == ENOENT else {
            if code == ELOOP || code == ENOTDIR {
                throw SyncError(.badRoot, "\(markerDisplay) is not a directory: that name is reserved for the marker a sync leaves at the top of its destination; remove it or sync elsewhere")
            }
            throw Sys.error("open", markerDisplay, errno: code)
        }
        let names = try Sys.names(root.fd.raw, root.path).sorted { $0.lexicographicallyPrecedes($1) }
        if !names.isEmpty && !adopt {
            let shown = names.prefix(3).map { "'\(SyncPath.printable($0))'" }.joined(separator: ", ") + (names.count > 3 ? ", …" : "")
            throw SyncError(.notAdopted, "refusing to sync into \(root.display): it holds \(names.count) \(names.count == 1 ? "entry" : "entries") (\(shown)) and no \(SyncPath.printable(name)) marker of an earlier sync, and a sync deletes what its source lacks; pass --adopt to take the directory over, or name a new or empty one")
        }
        guard withCPath(name, { mkdirat(root.fd.raw, $0, 0o755) }) == 0 || errno == EEXIST,
              let marker = OwnedFD.open(at: root.fd.raw, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) else {
            throw Sys.error("mkdir", markerDisplay)
        }
        let readme = Array("README".utf8)
        if let fd = OwnedFD.open(at: marker.raw, readme, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: 0o644) {
            _ = Self.readme.withUnsafeBytes { FileIO.writeAll(fd.raw, $0) }
        }
        return marker
    }

    /// The destination's manifest (without the marker); every apply of this sync follows it.
    public func scan() throws(SyncError) -> (Manifest, TreeScanner.Stats) {
        guard !ended else { throw SyncError(.badData, "sync \(id) has ended") }
        var options = TreeScanner.Options()
        options.reservedRootNames = [SyncRoot.markerName]
        options.refuseMountPoints = true
        let result = try TreeScanner.scan(root.fd, display: root.requested, options: options, cache: &cache)
        if let cacheFile { cache.saveIfDirty(cacheFile) }
        writer = TreeWriter(root: root.fd, path: root.requested, privateDir: privateDir, cache: cache)
        return result
    }

    /// Applies a batch. `save` marks the sync's last batch: the cache is
    /// persisted and the sync ends, with an error if a file was begun and not
    /// written completely. The caller ends the sync when this throws.
    public func apply(_ actions: [SyncAction], save: Bool) throws(SyncError) {
        guard !ended, let writer else { throw SyncError(.badData, "sync \(id) has ended or was never scanned") }
        try writer.apply(actions)
        guard save else { return }
        // A sync that ends with a file half-sent must not be reported as done: the file
        // keeps its old version (the next sync sends it again), and the controller hears so.
        let unfinished = writer.unfinishedFiles
        end()
        if !unfinished.isEmpty {
            let names = unfinished.prefix(3).map { "\(root.requested)/\($0)" }.joined(separator: ", ")
            throw SyncError(.badData, "the sync ended with \(unfinished.count) large file(s) not completely sent (\(names)); they keep their old content, sync again")
        }
    }

    /// Ends the sync: unfinished uploads and the private directory are removed,
    /// the cache is kept, and the lock and the root's descriptor are released.
    public func end() {
        guard !ended else { return }
        ended = true
        if let writer {
            writer.abandonUploads()
            cache = writer.cache
            self.writer = nil
        }
        if let cacheFile { cache.saveIfDirty(cacheFile) }
        let kept = cache, path = root.path
        Self.caches.withLock { $0[path] = kept }
        let sweeper = TreeWriter(root: root.fd, path: root.requested, privateDir: nil, cache: ScanCache())
        try? sweeper.removeEntry(marker.raw, privateName, "private directory")
        lock = nil
    }
}

func randomHex(_ bytes: Int) -> String {
    var rng = SystemRandomNumberGenerator()
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for _ in 0..<bytes {
        let b = UInt8.random(in: 0...255, using: &rng)
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0xf)])
    }
    return String(decoding: out, as: UTF8.self)
}
