import Glibc
import Synchronization

/// The agent's side of a sync into one root: the checked root, its scan cache
/// (in memory while the agent lives, persisted under the agent's cache
/// directory) and the writer with its unfinished uploads. One sync per root
/// at a time: every call holds the root's lock.
public final class SyncDestination: @unchecked Sendable {
    public let root: String
    let cacheFile: String?
    private var cache: ScanCache
    private var writer: TreeWriter?

    private static let registry = Mutex<[String: SyncDestination]>([:])
    private let lock = Mutex(())

    init(root: String, cacheDirectory: String?) {
        self.root = root
        cacheFile = cacheDirectory.map { "\($0)/\(SHA256Hasher.digest(Array(root.utf8)).hex).cache" }
        cache = cacheFile.map(ScanCache.load) ?? ScanCache()
    }

    /// The destination for `root` (checked by `SyncRoot.check`), shared by every session of this agent.
    public static func open(_ root: String, cacheDirectory: String?) throws(SyncError) -> SyncDestination {
        let checked = try SyncRoot.check(root, home: getenv("HOME").map { String(cString: $0) })
        return registry.withLock { all in
            if let existing = all[checked] { return existing }
            let created = SyncDestination(root: checked, cacheDirectory: cacheDirectory)
            all[checked] = created
            return created
        }
    }

    /// Creates the root if needed, drops leftover temporary files, and returns the manifest.
    public func scan() throws(SyncError) -> (Manifest, TreeScanner.Stats) {
        try lock.withLock { _ throws(SyncError) in
            try SyncRoot.create(root)
            writer?.abandonUploads()
            writer = nil
            var options = TreeScanner.Options()
            options.removeTempFiles = true
            let result = try TreeScanner.scan(root: root, options: options, cache: &cache)
            if let cacheFile { cache.saveIfDirty(cacheFile) }
            return result
        }
    }

    /// Applies a batch; `save` persists the cache (the controller sets it on its last batch).
    public func apply(_ actions: [SyncAction], save: Bool) throws(SyncError) {
        try lock.withLock { _ throws(SyncError) in
            if writer == nil { writer = try TreeWriter(root: root, cache: cache) }
            defer {
                cache = writer!.cache
                if save {
                    if let cacheFile { cache.saveIfDirty(cacheFile) }
                    // The sync is over: hold no descriptor of DEST (a long-lived agent would keep its file system busy).
                    writer!.abandonUploads()
                    writer = nil
                }
            }
            try writer!.apply(actions)
            // A sync that ends with a file half-sent must not be reported as done: the file
            // keeps its old version (the next sync sends it again), and the controller hears so.
            if save, case let unfinished = writer!.unfinishedUploads, unfinished > 0 {
                throw SyncError(.badData, "the sync ended with \(unfinished) large file(s) not completely sent; they keep their old content, sync again")
            }
        }
    }
}

/// Which roots a sync may write to.
public enum SyncRoot {
    /// The root without trailing slashes; refuses relative paths, `.`/`..`,
    /// NUL, `/` and a home directory itself (the user's, or `home`).
    public static func check(_ root: String, home: String?) throws(SyncError) -> String {
        var bytes = Array(root.utf8)
        while bytes.count > 1 && bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        guard bytes.first == UInt8(ascii: "/") else { throw SyncError(.badRoot, "destination '\(root)' is not an absolute path") }
        guard bytes.count > 1 else { throw SyncError(.badRoot, "refusing to sync into /: name a directory of its own") }
        if let problem = SyncPath.problem(Array(bytes.dropFirst())) {
            throw SyncError(.badRoot, "destination '\(root)': \(problem)")
        }
        let normalized = String(decoding: bytes, as: UTF8.self)
        var homes = Set<String>()
        if let home, !home.isEmpty {
            homes.insert(trimmed(home))
            if let realHome = realPath(home) { homes.insert(realHome) }
        }
        let real = realPath(normalized)
        if real == "/" { throw SyncError(.badRoot, "refusing to sync into \(root): it resolves to /") }
        if homes.contains(normalized) || real.map(homes.contains) == true {
            throw SyncError(.badRoot, "refusing to sync into \(root): it is a home directory; name a directory inside it")
        }
        return normalized
    }

    /// `mkdir -p` of the root (mode 0755).
    static func create(_ root: String) throws(SyncError) {
        var st = stat()
        if stat(root, &st) == 0 {
            guard st.fileType == S_IFDIR else { throw Sys.error("open", root, errno: ENOTDIR) }
            return
        }
        var path = ""
        for component in root.split(separator: "/") {
            path += "/" + component
            if mkdir(path, 0o755) != 0 && errno != EEXIST { throw Sys.error("mkdir", path) }
        }
    }

    static func trimmed(_ path: String) -> String {
        var s = Substring(path)
        while s.count > 1 && s.hasSuffix("/") { s = s.dropLast() }
        return String(s)
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}
