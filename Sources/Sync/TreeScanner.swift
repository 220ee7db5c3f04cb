import Glibc

/// Builds the manifest of a tree without following symbolic links, hashing
/// only files whose (device, inode, size, mtime) the cache does not know.
public struct TreeScanner {
    public struct Options {
        /// The paths to consider (files and symlinks; their parent directories
        /// are implied); nil walks the whole tree.
        public var selection: [SyncPath]?
        /// Trees to walk whole in addition to `selection` (`.hg` with --include-vcs).
        public var extraTrees: [SyncPath] = []
        /// True for paths to leave out (and, for directories, everything below).
        public var exclude: (SyncPath, ManifestEntry.Kind) -> Bool = { _, _ in false }
        /// Names left out at the top of the tree only, whatever they are
        /// (the destination's marker, `SyncRoot.markerName`).
        public var reservedRootNames: Set<[UInt8]> = []
        /// Files modified this recently are hashed but not cached: a write in
        /// the same clock tick could otherwise go unnoticed.
        public var racyWindowNs: Int64 = 2_000_000_000
        /// A destination's scan: an entry on another mount than the root's (a
        /// mount point below it) fails the scan with `unsafe_path` naming it,
        /// so that no sync deletes, changes or writes behind a mount. A source
        /// is read across mounts.
        public var refuseMountPoints = false

        public init(selection: [SyncPath]? = nil) { self.selection = selection }
    }

    public struct Stats: Sendable, Equatable {
        public var files = 0
        public var hashedFiles = 0
        public var hashedBytes: UInt64 = 0
        /// Sockets, fifos and devices, which are not synced.
        public var skippedSpecial = 0
        /// Selected paths that no longer exist (deleted in the working copy).
        public var missing = 0
    }

    let rootPath: String
    let root: OwnedFD
    let options: Options
    var cache: ScanCache
    var seen: Set<SyncPath> = []
    var entries: [ManifestEntry] = []
    var stats = Stats()
    let racyAfter: Int64
    /// The root's mount, when `options.refuseMountPoints`.
    var rootMount: UInt64? = nil

    /// Scans `root`; `cache` is updated to exactly the files seen.
    public static func scan(root: String, options: Options, cache: inout ScanCache) throws(SyncError) -> (Manifest, Stats) {
        guard let fd = OwnedFD.open(at: AT_FDCWD, Array(root.utf8), O_RDONLY | O_DIRECTORY) else {
            throw Sys.error("open", root)
        }
        return try scan(fd, display: root, options: options, cache: &cache)
    }

    /// Scans the directory open at `fd` (named `display` in messages).
    static func scan(_ fd: OwnedFD, display root: String, options: Options, cache: inout ScanCache) throws(SyncError) -> (Manifest, Stats) {
        var scanner = TreeScanner(rootPath: root, root: fd, options: options, cache: cache,
                                  racyAfter: Sys.wallClockNs() - options.racyWindowNs)
        if options.refuseMountPoints { scanner.rootMount = Sys.mount(at: fd.raw, []) }
        if let selection = options.selection {
            for path in Set(selection).sorted() { try scanner.visitSelected(path) }
            for tree in options.extraTrees { try scanner.visitSelected(tree) }
        } else {
            try scanner.walk(fd.raw, nil)
        }
        scanner.cache.retain(scanner.seen)
        cache = scanner.cache
        return (Manifest(scanner.entries), scanner.stats)
    }

    private func display(_ path: SyncPath?) -> String {
        guard let path else { return rootPath }
        return rootPath + "/" + path.description
    }

    /// A selected path: its parents as directories, then the path itself (a
    /// directory is walked whole).
    private mutating func visitSelected(_ path: SyncPath) throws(SyncError) {
        if let first = path.components.first, options.reservedRootNames.contains(Array(first)) { return }
        var prefix: SyncPath?
        for component in path.components.dropLast() {
            let dir = prefix.map { $0.appending(Array(component)) } ?? SyncPath(unchecked: Array(component))
            prefix = dir
            if seen.contains(dir) { continue }
            guard let st = Sys.lstat(at: root.raw, dir.bytes), st.fileType == S_IFDIR else {
                stats.missing += 1
                return  // a parent vanished or is a symlink: the path is not in the tree
            }
            if options.exclude(dir, .directory) { return }
            seen.insert(dir)
            entries.append(ManifestEntry(path: dir, kind: .directory, mode: UInt32(st.st_mode)))
        }
        if seen.contains(path) { return }
        guard let st = Sys.lstat(at: root.raw, path.bytes) else {
            stats.missing += 1
            return
        }
        if st.fileType == S_IFDIR {
            guard let dirFD = OwnedFD.open(at: root.raw, path.bytes, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) else {
                throw Sys.error("open", display(path))
            }
            try checkMount(dirFD.raw, [], path)
            if options.exclude(path, .directory) { return }
            seen.insert(path)
            entries.append(ManifestEntry(path: path, kind: .directory, mode: UInt32(st.st_mode)))
            try walk(dirFD.raw, path)
        } else {
            try visit(root.raw, path.bytes, path, st)
        }
    }

    /// Every entry below the directory open at `dir`.
    private mutating func walk(_ dir: Int32, _ path: SyncPath?) throws(SyncError) {
        for name in try Sys.names(dir, display(path)).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            if path == nil && options.reservedRootNames.contains(name) { continue }
            let child = path.map { $0.appending(name) } ?? SyncPath(unchecked: name)
            guard SyncPath.isValid(child.bytes) else { continue }
            guard let st = Sys.lstat(at: dir, name) else { continue }  // vanished meanwhile
            if st.fileType == S_IFDIR {
                if options.exclude(child, .directory) { continue }
                guard let sub = OwnedFD.open(at: dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) else {
                    throw Sys.error("open", display(child))
                }
                try checkMount(sub.raw, [], child)
                seen.insert(child)
                entries.append(ManifestEntry(path: child, kind: .directory, mode: UInt32(st.st_mode)))
                try walk(sub.raw, child)
            } else {
                try visit(dir, name, child, st)
            }
        }
    }

    /// With `refuseMountPoints`: `name` in `dir` (`dir` itself for an empty
    /// name) is on the root's mount, or the scan fails naming it.
    private func checkMount(_ dir: Int32, _ name: [UInt8], _ path: SyncPath) throws(SyncError) {
        guard options.refuseMountPoints else { return }
        guard let mount = Sys.mount(at: dir, name) else { throw Sys.error("stat", display(path)) }
        guard mount == rootMount else { throw SyncError.mountPoint(display(path)) }
    }

    /// A file or symlink named `name` in `dir`.
    private mutating func visit(_ dir: Int32, _ name: [UInt8], _ path: SyncPath, _ st: stat) throws(SyncError) {
        switch st.fileType {
        case S_IFREG:
            if options.exclude(path, .file) { return }
            if Sys.isMountID(rootMount) { try checkMount(dir, name, path) }  // a file can be bind-mounted too
            let (digest, key) = try hash(dir, name, path, st)
            seen.insert(path)
            stats.files += 1
            entries.append(ManifestEntry(path: path, kind: .file, mode: UInt32(st.st_mode), size: key.size, digest: digest))
        case S_IFLNK:
            if options.exclude(path, .symlink) { return }
            guard let target = Sys.readlink(at: dir, name) else { return }
            seen.insert(path)
            entries.append(ManifestEntry(path: path, kind: .symlink, mode: 0o777, target: target))
        default:
            stats.skippedSpecial += 1
        }
    }

    /// The file's digest, from the cache when its stat is unchanged; else read,
    /// re-stat afterwards and retry while it changes under us.
    mutating func hash(_ dir: Int32, _ name: [UInt8], _ path: SyncPath, _ st: stat) throws(SyncError) -> (Digest, ScanCache.Key) {
        let key = ScanCache.Key(st)
        if let digest = cache.digest(for: path, key: key) { return (digest, key) }
        for _ in 0..<3 {
            // O_NONBLOCK: a FIFO or device swapped in since the lstat must not block the
            // open (nor a later read); what was opened must be the regular file lstat saw.
            guard let fd = OwnedFD.open(at: dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY) else { throw Sys.error("open", display(path)) }
            var before = stat()
            guard fstat(fd.raw, &before) == 0 else { throw Sys.error("stat", display(path)) }
            guard before.fileType == S_IFREG else {
                throw SyncError(.changing, "\(display(path)) was replaced by something not a regular file while it was scanned; sync again when it is quiet")
            }
            let digest = try Self.hashContents(fd.raw, display(path))
            var after = stat()
            guard fstat(fd.raw, &after) == 0 else { throw Sys.error("stat", display(path)) }
            let k1 = ScanCache.Key(before), k2 = ScanCache.Key(after)
            guard k1 == k2, k2.size == digest.1 else { continue }
            stats.hashedFiles += 1
            stats.hashedBytes += k2.size
            if k2.mtimeNs < racyAfter { cache.record(path, key: k2, digest: digest.0) } else { cache.forget(path) }
            return (digest.0, k2)
        }
        throw SyncError(.changing, "\(display(path)) kept changing while it was read (3 tries); sync again when it is quiet")
    }

    /// SHA-256 and length of everything readable from `fd`.
    public static func hashContents(_ fd: Int32, _ display: String) throws(SyncError) -> (Digest, UInt64) {
        var hasher = SHA256Hasher()
        var total: UInt64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = Sys.retry { read(fd, buffer.baseAddress!, buffer.count) }
            if n < 0 { throw Sys.error("read", display) }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            total += UInt64(n)
        }
        return (hasher.finalize(), total)
    }
}
